// The live loss plot of the best candidate per step: its total and the terms that
// make it up, total = contextual + λ·perceptual + anchor (the pull toward the
// encoder's guess, zero on the plain search), so the lines add up.
export const SERIES = [
  { key: "total", label: "total", color: "#e4572e" },
  { key: "contextual", label: "contextual", color: "#2e86ab" },
  { key: "perceptual", label: "λ·perceptual", color: "#76b041", scaled: true },
  { key: "anchor", label: "anchor (encoder prior)", color: "#9b5de5" },
];

/** The plotted value of each series for one report: {key: y}. */
export function plotted(losses, lambda, series = SERIES) {
  return Object.fromEntries(series.map((s) => [s.key, s.scaled ? losses[s.key] * lambda : (losses[s.key] ?? 0)]));
}

/** A live line chart of loss terms over steps; `series` ([{key, label, color, scaled?}])
 *  defaults to the completion's, and the Lab's views pass their own. */
export class LossChart {
  constructor(canvas, series = SERIES, yTitle = "loss") {
    this.seriesSpec = series;
    this.chart = new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: series.map((s) => ({
          label: s.label, data: [], borderColor: s.color, backgroundColor: s.color,
          pointRadius: 0, borderWidth: 2, tension: 0.2,
        })),
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "step" }, min: 0 },
          y: { title: { display: true, text: yTitle } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  /** Start a new run of `steps` steps; lambda scales the perceptual series. */
  reset(steps, lambda = 0) {
    this.lambda = lambda;
    this.chart.options.scales.x.max = steps;
    for (const ds of this.chart.data.datasets) ds.data = [];
    this.chart.update();
  }

  add(step, losses) {
    const values = plotted(losses, this.lambda, this.seriesSpec);
    this.seriesSpec.forEach((s, i) => this.chart.data.datasets[i].data.push({ x: step, y: values[s.key] }));
    // λ·log(1 − D) is ≤ 0 but tiny beside the rest: keep the axis at 0 unless it is not
    const ys = this.chart.data.datasets.flatMap((ds) => ds.data.map((p) => p.y));
    const top = Math.max(...ys), bottom = Math.min(...ys);
    this.chart.options.scales.y.min = bottom < -0.02 * Math.max(top, 1e-9) ? undefined : 0;
    this.chart.update("none");
  }

  get points() { return this.chart.data.datasets[0].data.length; }

  /** The plotted points, {label: [{x, y}]}, for tests. */
  get series() { return Object.fromEntries(this.chart.data.datasets.map((ds) => [ds.label, ds.data])); }
}
