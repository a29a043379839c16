/*
 * omni_v4l2.h - what Swift cannot import from the V4L2 kernel API.
 *
 * The VIDIOC_* request numbers are function-like macros (_IOWR(...)), which Swift does not
 * import, and ioctl(2) is variadic, which Swift cannot call. Everything else (the structs, the
 * V4L2_CAP_* and V4L2_BUF_FLAG_* constants, the enums) is imported straight from
 * <linux/videodev2.h> through this header. Only OmniLinux/Camera/V4L2Device.swift (and the fake
 * kernel of the tests) use it.
 */
#ifndef OMNI_V4L2_H
#define OMNI_V4L2_H

#include <linux/videodev2.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ioctl(fd, request, arg), retried on EINTR. Returns 0, or -errno. */
int omni_v4l2_ioctl(int fd, unsigned long request, void *arg);

/* The request numbers the camera layer uses. */
extern const unsigned long omni_vidioc_querycap;
extern const unsigned long omni_vidioc_enum_fmt;
extern const unsigned long omni_vidioc_enum_framesizes;
extern const unsigned long omni_vidioc_g_fmt;
extern const unsigned long omni_vidioc_s_fmt;
extern const unsigned long omni_vidioc_reqbufs;
extern const unsigned long omni_vidioc_querybuf;
extern const unsigned long omni_vidioc_qbuf;
extern const unsigned long omni_vidioc_dqbuf;
extern const unsigned long omni_vidioc_streamon;
extern const unsigned long omni_vidioc_streamoff;

#ifdef __cplusplus
}
#endif

#endif /* OMNI_V4L2_H */
