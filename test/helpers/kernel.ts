/** Capture what the library sends to the Jupyter kernel (tslab's display channel) while `fn` runs. */
// eslint-disable-next-line @typescript-eslint/no-var-requires
const jupyter = require("tslab/dist/jupyter") as { lastWriteDisplayData: unknown };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function captureKernel<T>(fn: () => T): {
  result: T;
  sent: { msg: any; update: boolean }[];
} {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const sent: { msg: any; update: boolean }[] = [];
  const prev = jupyter.lastWriteDisplayData;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  jupyter.lastWriteDisplayData = (msg: any, update: boolean) => sent.push({ msg, update });
  try {
    return { result: fn(), sent };
  } finally {
    jupyter.lastWriteDisplayData = prev;
  }
}
