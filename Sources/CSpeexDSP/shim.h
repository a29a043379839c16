#include <speex/speex_resampler.h>
/* The echo canceller (MDF) and the preprocessor (residual echo and noise suppression). */
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
