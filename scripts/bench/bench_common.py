"""What the reference scripts of `cargo xtask bench` share."""


def peak_rss_mib():
    """The process's peak resident memory in MiB (`VmHWM`, Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
