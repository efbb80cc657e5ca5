/**
 * Plots for the workbook: `render` turns a vega-lite spec into a `Figure` {spec, PNG, text} and
 * displays it; the chart helpers build the specs (scatter, lines, histogram, quiver).
 */
export * from "./render";
export type { Numbers, PlotOptions } from "./common"; // its number helpers stay internal
export * from "./scatter";
export * from "./lines";
export * from "./histogram";
export * from "./quiver";
