#include "omni_v4l2.h"

#include <errno.h>
#include <sys/ioctl.h>

int omni_v4l2_ioctl(int fd, unsigned long request, void *arg) {
    int rc;
    do {
        rc = ioctl(fd, request, arg);
    } while (rc == -1 && errno == EINTR);
    return rc == -1 ? -errno : 0;
}

const unsigned long omni_vidioc_querycap = VIDIOC_QUERYCAP;
const unsigned long omni_vidioc_enum_fmt = VIDIOC_ENUM_FMT;
const unsigned long omni_vidioc_enum_framesizes = VIDIOC_ENUM_FRAMESIZES;
const unsigned long omni_vidioc_g_fmt = VIDIOC_G_FMT;
const unsigned long omni_vidioc_s_fmt = VIDIOC_S_FMT;
const unsigned long omni_vidioc_reqbufs = VIDIOC_REQBUFS;
const unsigned long omni_vidioc_querybuf = VIDIOC_QUERYBUF;
const unsigned long omni_vidioc_qbuf = VIDIOC_QBUF;
const unsigned long omni_vidioc_dqbuf = VIDIOC_DQBUF;
const unsigned long omni_vidioc_streamon = VIDIOC_STREAMON;
const unsigned long omni_vidioc_streamoff = VIDIOC_STREAMOFF;
