"""Published reference figures, copied from docs/PROTOCOL.md (ETTh1/ETTh2, test MSE/MAE on the
standardized scale). Always shown labelled as published, with source and lookback; never
mixed with measured numbers."""

from __future__ import annotations

PROTOCOL = "PROTOCOL.md (shared evaluation protocol)"
SEED = "seed documents"
REVIN_LINEAR = "RevIN+Linear, PROTOCOL.md measurement (CPU, {seeds})"

# (model/protocol label, lookback, dataset, {horizon: (mse, mae or None)}, where the protocol has
# the figures from: its section 2 for DynoNet and Linear, section 4's source column for the others)
PUBLISHED: list[tuple[str, str, str, dict[int, tuple[float, float | None]], str]] = [
    ("DynoNet, seed documents (claimed)", "512", "ETTh1", {96: (0.386, 0.415)}, SEED),
    ("DynoNet, published code re-run, seed 12345", "512", "ETTh1",
     {96: (0.387, 0.416), 336: (0.496, 0.489), 720: (0.589, 0.554)}, "re-run by the protocol's authors (H100)"),
    (REVIN_LINEAR.format(seeds="mean of seeds 0-2"), "512", "ETTh1",
     {96: (0.373, 0.398), 336: (0.439, 0.441), 720: (0.456, 0.468)}, "measured by the protocol's authors"),
    (REVIN_LINEAR.format(seeds="seed 0"), "512", "ETTh1", {192: (0.408, 0.419)}, "measured by the protocol's authors"),
    ("CycleNet/Linear, fixed, 5 seeds", "336", "ETTh1",
     {96: (0.374, 0.396), 192: (0.407, 0.415), 336: (0.431, 0.431), 720: (0.451, 0.464)},
     "ACAT-SCUT/CycleNet result.txt"),
    ("FITS, fixed", "90-720", "ETTh1", {96: (0.375, None), 192: (0.407, None), 336: (0.430, None), 720: (0.427, None)},
     "VEWOXIC/FITS README"),
    ("SegRNN, fixed", "96", "ETTh1",
     {96: (0.368, 0.395), 192: (0.408, 0.419), 336: (0.444, 0.440), 720: (0.446, 0.457)}, "lss-1138/SegRNN README"),
    ("PatchTST/42, fixed re-run", "336", "ETTh1",
     {96: (0.385, 0.406), 192: (0.414, 0.421), 336: (0.441, 0.440), 720: (0.456, 0.471)}, "FITS logs/fixPatchTST"),
    ("DLinear, fixed re-run", "336", "ETTh1",
     {96: (0.384, 0.405), 192: (0.443, 0.450), 336: (0.447, 0.448), 720: (0.504, 0.515)}, "FITS logs/fixDLinear"),
    # the protocol lists ETTh2's figures in one line, without a source column
    ("CycleNet/Linear, fixed", "336", "ETTh2", {96: (0.280, None), 192: (0.342, None), 336: (0.372, None), 720: (0.426, None)},
     ""),
    ("FITS, fixed", "90-720", "ETTh2", {96: (0.271, None), 192: (0.331, None), 336: (0.354, None), 720: (0.378, None)}, ""),
    ("PatchTST/42, fixed", "336", "ETTh2", {96: (0.275, None), 192: (0.339, None), 336: (0.368, None), 720: (0.391, None)},
     ""),
    ("DLinear, fixed", "336", "ETTh2", {96: (0.282, None), 192: (0.350, None), 336: (0.415, None), 720: (0.589, None)}, ""),
]


def published_for(dataset: str, horizon: int) -> list[dict[str, object]]:
    """Published rows for one dataset and horizon, each with its label, source and lookback."""
    return [
        {"label": f"published: {label}", "lookback": lookback, "mse": figs[horizon][0],
         "mae": figs[horizon][1], "source": f"{origin}, via {PROTOCOL}" if origin else PROTOCOL}
        for label, lookback, ds, figs, origin in PUBLISHED
        if ds == dataset and horizon in figs
    ]
