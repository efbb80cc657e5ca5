/** The workbook's library: one module per concept of the exercise sheet. */
export * from "./random";
export * from "./checks";
export * from "./schedule";
export * from "./moons";
export * from "./backend";
export * from "./model";
export * from "./loss";
export * from "./sample";
export * from "./metrics";
export * from "./equivariance";
export * from "./figures";
export * from "./checkpoint";
export * from "./train";
