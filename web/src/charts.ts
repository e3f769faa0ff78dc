// A quality report (metric set datasoil.quality.v1, docs/quality.md) as charts drawn with
// Observable Plot into SVG: completeness per column, label balance, outliers per numeric
// column, duplicates, and the score's components. Each bar carries a <title> with its
// exact value, so the numbers stay readable without hovering and by screen readers.
import * as Plot from "@observablehq/plot";
import { esc, percent } from "./util";

/** The parts of the report document (engine/quality.py `to_json`) the charts read. */
export interface QualityReport {
  rows: number;
  columns: {
    name: string;
    type: string;
    completeness: number;
    conformance: number;
    numeric: null | { count: number; outliers: number; outlier_rate: number };
  }[];
  completeness: number;
  duplicates: { exact: number; exact_rate: number; key: string[] | null; key_duplicates: number | null; key_rate: number | null };
  outliers: { cells: number; numeric_cells: number; rate: number };
  label: null | { column: string; classes: { value: string; count: number; share: number }[]; missing: number; balance: number };
  pii: { cells: number; rate: number };
  score: { value: number; components: Record<string, number>; weights: Record<string, number> };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function figure(kind: string, caption: string, plot: Element): HTMLElement {
  const fig = document.createElement("figure");
  fig.className = "chart";
  fig.dataset.chart = kind;
  fig.append(plot);
  const cap = document.createElement("figcaption");
  cap.textContent = caption;
  fig.append(cap);
  return fig;
}

function bars<T extends object>(data: T[], x: keyof T & string, y: keyof T & string, title: (d: T) => string, width: number, domain?: [number, number], fmt?: string) {
  return Plot.plot({
    width,
    height: 28 + 24 * data.length,
    marginLeft: Math.min(150, 12 + 7 * Math.max(...data.map((d) => String(d[y]).length), 4)),
    x: { domain, grid: true, tickFormat: fmt, label: null },
    y: { label: null, domain: data.map((d) => String(d[y])) },
    marks: [Plot.barX(data, { x, y, title, fill: "var(--accent)" }), Plot.ruleX([0])],
  });
}

/** Render the report's charts into `box`, sized to its width (phones included). */
export function drawQuality(box: HTMLElement, report: QualityReport): void {
  const width = Math.max(260, Math.min(640, box.clientWidth || 640));
  const charts: HTMLElement[] = [];
  const cols = report.columns.map((c) => ({ column: c.name, completeness: c.completeness, type: c.type }));
  charts.push(
    figure(
      "completeness",
      `Completeness per column (present values / ${report.rows} rows); the dataset: ${pct(report.completeness)}.`,
      bars(cols, "completeness", "column", (d) => `${d.column} (${d.type}): ${pct(d.completeness)} present`, width, [0, 1], "%"),
    ),
  );
  if (report.label && report.label.classes.length) {
    const classes = report.label.classes.map((c) => ({ class: c.value, share: c.share, count: c.count }));
    charts.push(
      figure(
        "labels",
        `Label balance of "${report.label.column}": ${classes.length} classes, balance ${report.label.balance.toFixed(2)} (1 = even), ${report.label.missing} missing.`,
        bars(classes, "share", "class", (d) => `${d.class}: ${d.count} rows (${pct(d.share)})`, width, [0, 1], "%"),
      ),
    );
  }
  const numeric = report.columns.filter((c) => c.numeric).map((c) => ({ column: c.name, outliers: c.numeric!.outliers, rate: c.numeric!.outlier_rate, count: c.numeric!.count }));
  if (numeric.length) {
    charts.push(
      figure(
        "outliers",
        `Outliers per numeric column (Tukey's 1.5 IQR fences): ${report.outliers.cells} of ${report.outliers.numeric_cells} values, ${pct(report.outliers.rate)}.`,
        bars(numeric, "outliers", "column", (d) => `${d.column}: ${d.outliers} of ${d.count} values (${pct(d.rate)})`, width),
      ),
    );
  }
  const dup = [{ kind: "exact duplicate rows", rows: report.duplicates.exact, rate: report.duplicates.exact_rate }];
  if (report.duplicates.key && report.duplicates.key_duplicates !== null) {
    dup.push({ kind: `duplicate ${report.duplicates.key.join("+")}`, rows: report.duplicates.key_duplicates, rate: report.duplicates.key_rate ?? 0 });
  }
  charts.push(
    figure(
      "duplicates",
      `Duplicates among ${report.rows} rows.`,
      bars(dup, "rows", "kind", (d) => `${d.kind}: ${d.rows} (${pct(d.rate)})`, width, [0, Math.max(1, report.rows)]),
    ),
  );
  const comps = Object.entries(report.score.components).map(([name, value]) => ({ component: name, value, weight: report.score.weights[name] ?? 0 }));
  charts.push(
    figure(
      "score",
      `Score ${percent(report.score.value)}: the weighted mean of these components (weights in the bar titles).`,
      bars(comps, "value", "component", (d) => `${d.component}: ${pct(d.value)} (weight ${d.weight})`, width, [0, 1], "%"),
    ),
  );
  box.replaceChildren(...charts);
  const pii = document.createElement("p");
  pii.innerHTML = `PII screening: <b>${report.pii.cells}</b> text cells look like an e-mail address or phone number (${esc(pct(report.pii.rate))}).`;
  box.append(pii);
}
