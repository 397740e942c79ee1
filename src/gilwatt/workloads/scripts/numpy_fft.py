"""NumPy FFT (the study's numpy_fft).

Kernel: ``np.fft.fft(signal)`` of a float64 signal from ``default_rng(42)``, then
``abs().sum()``.

Verified: Parseval's identity, ``sum|X|^2 == N * sum x^2``, to 1e-9 relative; and the bins
0, 1, N/3 and N-1 against a direct DFT sum for that bin, to 1e-9 of the bin-0 magnitude.
"""

import math

from _harness import check_close, failed, measured, parse_args, passed, require_numpy

NAME = "numpy_fft"
BLOCK = 1 << 20


def direct_dft(np, signal, k):
    """X[k] = sum x[i] exp(-2 pi i k i / N), with the phase reduced exactly in integers."""
    n = len(signal)
    real = imag = 0.0
    for start in range(0, n, BLOCK):
        index = np.arange(start, min(start + BLOCK, n), dtype=np.int64)
        phase = ((index * k) % n).astype(np.float64) * (-2.0 * math.pi / n)
        part = signal[start : start + BLOCK]
        real += float(np.dot(part, np.cos(phase)))
        imag += float(np.dot(part, np.sin(phase)))
    return complex(real, imag)


def main():
    args = parse_args(__doc__, [("length", "int", 100_000, "signal samples")], uses_workers=False)
    np = require_numpy()
    n = args.length
    signal = np.random.default_rng(42).random(n, dtype=np.float64)

    with measured(NAME, args):
        spectrum = np.fft.fft(signal)
        if args.corrupt:
            spectrum[1] += 1.0
        total = float(np.abs(spectrum).sum())

    energy = float(np.vdot(spectrum, spectrum).real)
    check_close("Parseval sum |X|^2", energy, n * float(np.dot(signal, signal)), 1e-9)
    scale = max(abs(complex(spectrum[0])), 1.0)
    for k in sorted(set((0, 1 % n, n // 3, n - 1))):
        want = direct_dft(np, signal, k)
        got = complex(spectrum[k])
        if abs(got - want) > 1e-9 * scale:
            failed("bin %d: got %r, expected %r" % (k, got, want))
    passed(total)


if __name__ == "__main__":
    main()
