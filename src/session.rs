//! Where dsp, storage, device and report meet.
