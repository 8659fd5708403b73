#!/usr/bin/env python3
"""The peer of `sweeplab analyze` for issue 17's benchmark: the same session analysed with
pyfar (deconvolution, windows) and numpy/scipy, plotted with matplotlib, as a user of those
tools would write it. It does the work sweeplab's default analysis does, in kind:

- regularized deconvolution of every capture channel by the stimulus (pyfar's
  regularized_spectrum_inversion of the stimulus, once, then a spectral product per channel);
- the linear impulse response's peak (latency) and a windowed linear response (pyfar's
  time_window), read on a 48-points-per-octave grid and smoothed to 1/6 octave;
- the harmonic impulse responses H2..H5 at the exponential sweep's known lags, windowed,
  and THD per fundamental;
- the noise spectrum of the silence before the sweep (scipy.signal.welch) and its level;
- five PNG pages at 1600x1000 (response, distortion, noise, impulse, an overview of four).

Usage: pyfar_analyze.py SESSION_DIR OUT_DIR
Needs: pip install pyfar matplotlib (pyfar brings numpy, scipy, soundfile).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyfar as pf  # noqa: E402
import scipy.signal  # noqa: E402
import soundfile as sf  # noqa: E402


def main(session, out):
    os.makedirs(out, exist_ok=True)
    meta = json.load(open(os.path.join(session, "session.json")))
    sw = meta["sweep"]
    fs = meta["sample_rate"]
    x, _ = sf.read(os.path.join(session, "stimulus.wav"), dtype="float64", always_2d=True)
    y, _ = sf.read(os.path.join(session, "capture.wav"), dtype="float64", always_2d=True)
    n = max(len(x), len(y))
    x = np.pad(x[:, 0], (0, n - len(x)))
    y = np.pad(y, ((0, n - len(y)), (0, 0)))
    f1, f2 = sw["start_hz"], min(sw["end_hz"], 0.45 * fs)
    L = sw["duration_s"] / np.log(f2 / f1)
    grid = f1 * 2.0 ** (np.arange(int(np.log2(f2 / f1) * 48) + 1) / 48)
    stim = pf.Signal(x, fs)
    inverse = pf.dsp.regularized_spectrum_inversion(stim, (f1, f2))
    results = []
    for c in range(y.shape[1]):
        cap = pf.Signal(y[:, c] - y[:, c].mean(), fs)
        h = pf.Signal(cap.freq * inverse.freq, fs, n_samples=n, domain="freq")
        ir = h.time[0]
        peak = int(np.argmax(np.abs(ir)))
        lin = pf.dsp.time_window(
            pf.Signal(np.roll(ir, -peak + 256), fs), [0, 256, 256 + int(0.05 * fs), int(0.1 * fs)],
            shape="symmetric", unit="samples", crop="window")
        spec = np.abs(np.fft.rfft(lin.time[0], n=fs))
        freqs = np.fft.rfftfreq(fs, 1 / fs)
        gain = 20 * np.log10(np.interp(grid, freqs, spec) + 1e-20)
        smooth, _ = pf.dsp.smooth_fractional_octave(pf.Signal(lin.time[0], fs), 6)
        harm = []
        for k in range(2, 6):
            lag = int(round(L * np.log(k) * fs))
            seg = np.roll(ir, -(peak - lag) + 128)[: int(0.02 * fs) + 128]
            w = pf.dsp.time_window(pf.Signal(seg, fs), [0, 128, len(seg) - 256, len(seg) - 1],
                                   shape="symmetric", unit="samples")
            hk = np.abs(np.fft.rfft(w.time[0], n=fs))
            harm.append(np.interp(grid * k, freqs, hk))
        h1 = np.interp(grid, freqs, spec) + 1e-20
        thd = 100 * np.sqrt(np.sum(np.array(harm) ** 2, axis=0)) / h1
        pre = y[: int(sw["pre_s"] * fs), c]
        nf, npsd = scipy.signal.welch(pre, fs, nperseg=min(len(pre), 8192))
        noise_dbfs = 10 * np.log10(np.trapezoid(npsd[(nf >= 20) & (nf <= 20000)],
                                                nf[(nf >= 20) & (nf <= 20000)]) * 2 + 1e-30)
        results.append(dict(gain=gain, smooth=smooth, thd=thd, harm=harm, nf=nf, npsd=npsd,
                            ir=ir, peak=peak, noise=noise_dbfs))
        np.savetxt(os.path.join(out, f"response-ch{c}.csv"), np.c_[grid, gain], delimiter=",")

    def response(ax):
        for r in results:
            ax.semilogx(grid, r["gain"])
        ax.set(xlabel="Frequency (Hz)", ylabel="Gain (dB)")

    def distortion(ax):
        for r in results:
            ax.loglog(grid, np.maximum(r["thd"], 1e-4))
            for hk in r["harm"]:
                ax.loglog(grid, np.maximum(100 * hk / (np.interp(grid, grid, 10 ** (r["gain"] / 20)) + 1e-20), 1e-4), lw=0.5)
        ax.set(xlabel="Frequency (Hz)", ylabel="THD (%)")

    def noise(ax):
        for r in results:
            ax.semilogx(r["nf"][1:], 10 * np.log10(r["npsd"][1:] + 1e-30))
        ax.set(xlabel="Frequency (Hz)", ylabel="Noise PSD (dBFS/Hz)")

    def impulse(ax):
        for r in results:
            p = r["peak"]
            seg = r["ir"][max(p - int(0.005 * fs), 0): p + int(0.05 * fs)]
            ax.plot(np.arange(len(seg)) / fs * 1e3, seg)
        ax.set(xlabel="Time (ms)", ylabel="Amplitude")

    pages = {"response": response, "distortion": distortion, "noise": noise, "impulse": impulse}
    for name, paint in pages.items():
        fig, ax = plt.subplots(figsize=(16, 10), dpi=100)
        paint(ax)
        ax.grid(True, which="both", alpha=0.3)
        fig.savefig(os.path.join(out, f"{name}.png"))
        plt.close(fig)
    fig, axes = plt.subplots(2, 2, figsize=(16, 10), dpi=100)
    for ax, paint in zip(axes.flat, pages.values()):
        paint(ax)
        ax.grid(True, which="both", alpha=0.3)
    fig.savefig(os.path.join(out, "overview.png"))
    plt.close(fig)
    json.dump({"channels": [{"noise_rms_dbfs": r["noise"]} for r in results]},
              open(os.path.join(out, "analysis.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
