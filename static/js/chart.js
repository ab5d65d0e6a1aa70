// The live loss plot: total, contextual and perceptual loss of the best candidate per step.
const SERIES = [
  { key: "total", label: "total", color: "#e4572e" },
  { key: "contextual", label: "contextual", color: "#2e86ab" },
  { key: "perceptual", label: "λ·perceptual term", color: "#76b041", scaled: true },
];

export class LossChart {
  constructor(canvas) {
    this.chart = new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: SERIES.map((s) => ({
          label: s.label, data: [], borderColor: s.color, backgroundColor: s.color,
          pointRadius: 0, borderWidth: 2, tension: 0.2,
        })),
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        scales: {
          x: { type: "linear", title: { display: true, text: "step" }, min: 0 },
          y: { title: { display: true, text: "loss" } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  /** Start a new run of `steps` steps; lambda scales the perceptual series. */
  reset(steps, lambda) {
    this.lambda = lambda;
    this.chart.options.scales.x.max = steps;
    for (const ds of this.chart.data.datasets) ds.data = [];
    this.chart.update();
  }

  add(step, losses) {
    SERIES.forEach((s, i) => {
      const y = s.scaled ? losses[s.key] * this.lambda : losses[s.key];
      this.chart.data.datasets[i].data.push({ x: step, y });
    });
    this.chart.update("none");
  }

  get points() { return this.chart.data.datasets[0].data.length; }
}
