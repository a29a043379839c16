// The comparison canceller for bench/aec: webrtc-audio-processing 0.3 (Debian's
// libwebrtc-audio-processing-dev; AEC2, "extended filter" on), run over the same signals as
// the production speexdsp path. Not part of the Swift package (omnid does not link webrtc);
// bench/aec/run.sh --webrtc compiles it when the library is installed.
//
//   aec_webrtc REF.raw MIC.raw OUT.raw DELAY_MS [moderate|high] [agnostic]
//
// Raw 16 kHz mono s16le; REF is what the speaker played, MIC what the microphone recorded,
// sample-synchronous. DELAY_MS is the echo delay handed to set_stream_delay_ms ("the right
// delay"). Prints cpu_s=SECONDS (process CPU time spent in the APM calls).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

static std::vector<int16_t> readRaw(const char* path) {
    std::vector<int16_t> v;
    FILE* f = std::fopen(path, "rb");
    if (!f) { std::perror(path); std::exit(2); }
    int16_t buf[4096];
    size_t n;
    while ((n = std::fread(buf, 2, 4096, f)) > 0) v.insert(v.end(), buf, buf + n);
    std::fclose(f);
    return v;
}

static double cpuSeconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
    if (argc < 5) { std::fprintf(stderr, "usage: aec_webrtc REF.raw MIC.raw OUT.raw DELAY_MS [moderate|high] [agnostic]\n"); return 2; }
    auto ref = readRaw(argv[1]);
    auto mic = readRaw(argv[2]);
    int delay = std::atoi(argv[4]);
    bool high = argc > 5 && std::strcmp(argv[5], "high") == 0;
    bool agnostic = argc > 6 && std::strcmp(argv[6], "agnostic") == 0;

    webrtc::Config config;
    config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
    config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(agnostic));
    std::unique_ptr<webrtc::AudioProcessing> apm(webrtc::AudioProcessing::Create(config));
    apm->echo_cancellation()->enable_drift_compensation(false);
    apm->echo_cancellation()->set_suppression_level(high ? webrtc::EchoCancellation::kHighSuppression
                                                         : webrtc::EchoCancellation::kModerateSuppression);
    apm->echo_cancellation()->Enable(true);

    const int rate = 16000, n = rate / 100;
    webrtc::AudioFrame far, near;
    for (webrtc::AudioFrame* f : {&far, &near}) {
        f->sample_rate_hz_ = rate;
        f->num_channels_ = 1;
        f->samples_per_channel_ = n;
    }
    std::vector<int16_t> out(mic.size(), 0);
    double cpu = 0;
    for (size_t start = 0; start + n <= mic.size(); start += n) {
        for (int i = 0; i < n; i++) far.data_[i] = start + i < ref.size() ? ref[start + i] : 0;
        std::memcpy(near.data_, &mic[start], n * 2);
        double t0 = cpuSeconds();
        apm->ProcessReverseStream(&far);
        apm->set_stream_delay_ms(delay);
        apm->ProcessStream(&near);
        cpu += cpuSeconds() - t0;
        std::memcpy(&out[start], near.data_, n * 2);
    }
    FILE* f = std::fopen(argv[3], "wb");
    if (!f) { std::perror(argv[3]); return 2; }
    std::fwrite(out.data(), 2, out.size(), f);
    std::fclose(f);
    std::printf("cpu_s=%.6f\n", cpu);
    return 0;
}
