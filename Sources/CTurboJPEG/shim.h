/* libjpeg-turbo's TurboJPEG API: plain functions and integer macros Swift imports as they are,
 * so no C shim target is needed. Only OmniJPEG/TurboJPEG.swift imports this module. */
#include <turbojpeg.h>
