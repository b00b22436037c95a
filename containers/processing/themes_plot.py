"""themes.png: the episode x theme heatmap, each cell labelled with its score.

The colour scale runs from 0 to the largest score in the table, not to 1: lexicon scores are shares of
lines (rarely above 0.5) and would all look black on a 0-1 scale. The values printed in the cells keep
the absolute reading, and the colour bar says what the numbers are.
"""

from __future__ import annotations

from pathlib import Path

COLORBAR_LABEL = {
    "nli": "mean entailment probability",
    "lexicon": "mean line score (share of lines on the theme)",
}


def plot_heatmap(path: Path, table: list[dict], themes: list[str], title: str, method: str) -> None:
    """Write the heatmap of `table` rows ({episode_key, scores}) with the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [[row["scores"][t] for t in themes] for row in table]
    top = max((v for row in values for v in row), default=0.0)
    vmax = top if top > 0 else 1.0
    fig, ax = plt.subplots(figsize=(2.0 + 0.9 * len(themes), 1.8 + 0.4 * len(table)))
    image = ax.imshow(values, aspect="auto", cmap="magma", vmin=0.0, vmax=vmax)
    ax.set_xticks(range(len(themes)), themes, rotation=45, ha="right")
    ax.set_yticks(range(len(table)), [row["episode_key"] for row in table])
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            dark = value < 0.6 * vmax  # light text on the dark end of magma
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=COLORBAR_LABEL.get(method, "score"))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
