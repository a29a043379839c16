// OmniLinux: real devices.
