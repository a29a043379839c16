/*
 * toml++ (libtomlplusplus-dev) is C++ only, so nothing of it is importable into Swift and this
 * header is deliberately empty. The target exists to find the library through pkg-config
 * (its -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 and -ltomlplusplus) and name the apt package;
 * Swift reaches toml++ only through COmniShim's omni_toml.h (toml_shim.cpp).
 */
