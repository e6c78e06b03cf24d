"""``--plot``: a PNG of ours against the peers, case by case (needs matplotlib,
the ``plot`` extra)."""

from __future__ import annotations

from pathlib import Path

from audiocore.bench.runner import RunResult

_COLOURS = {
    "audiocore": "#1f77b4",
    "audioop": "#ff7f0e",
    "soxr": "#2ca02c",
    "livekit": "#d62728",
    "numpy": "#9467bd",
    "python": "#8c564b",
}


def _colour(subject_id: str) -> str:
    for key in ("livekit", "soxr", "audioop", "numpy", "audiocore", "python"):
        if key in subject_id:
            return _COLOURS[key]
    return "#7f7f7f"


def check_matplotlib() -> None:
    """Raise ImportError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError("--plot needs matplotlib: pip install 'audiocore-dsp[plot]'") from e


def write_plot(run: RunResult, path: Path) -> None:
    check_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    bars: list[tuple[str, str, float, str]] = []  # (case, label, us, subject id)
    for c in run.cases:
        for s in c.subjects:
            bars.append((c.case.id, s.label, s.stats.amortised_ns / 1000, s.id))
    height = max(3.0, 0.22 * len(bars) + 0.3 * len(run.cases) + 1.5)
    fig, ax = plt.subplots(figsize=(10, height))
    y = 0.0
    yticks, ylabels = [], []
    for c in run.cases:
        start = y
        for s in c.subjects:
            us = s.stats.amortised_ns / 1000
            ax.barh(y, us, height=0.8, color=_colour(s.id))
            note = s.label if s.ours else f"{s.label}  (ours = {s.ratio.value:.2f}x)" \
                if s.ratio else s.label
            ax.text(us * 1.05, y, note, va="center", fontsize=6.5)
            y += 1
        yticks.append((start + y - 1) / 2)
        ylabels.append(c.case.id)
        if c.budget.budget_ns:
            ax.plot([c.budget.budget_ns / 1000] * 2, [start - 0.45, start + 0.45], color="k",
                    linewidth=1.2)
        y += 0.8
    ax.set_yticks(yticks)
    ax.set_yticklabels(ylabels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    lo = min(b[2] for b in bars)
    hi = max(b[2] for b in bars)
    ax.set_xlim(max(lo / 2, 1e-3), hi * 8)
    ax.set_xlabel("amortised us per 20 ms frame (log scale); black tick: our budget")
    ax.set_title(f"audiocore bench ({run.mode.name}): ours (blue) against the peers, same run",
                 fontsize=10)
    handles = [Rectangle((0, 0), 1, 1, color=col) for col in _COLOURS.values()]
    ax.legend(handles, list(_COLOURS), fontsize=7, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
