/**
 * Register the tslab kernel for JupyterLab / Jupyter Notebook / VS Code, pointing at this
 * project's own tslab (the version the library is tested with) run by this Node.
 *
 *   npm run kernel:install              # into the user's Jupyter data folder
 *   npm run kernel:install -- DIR       # into DIR (its kernels/tslab/kernel.json)
 *
 * The notebooks ask for the kernel named "tslab"; this replaces a spec of that name written
 * earlier by `tslab install`, which starts whatever `tslab` is first on PATH.
 */
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { writeKernelSpec } from "./run-notebooks";

/** Jupyter's user data folder: `jupyter --data-dir` if Jupyter is installed, else its documented default. */
function jupyterDataDir(): string {
  const r = spawnSync("jupyter", ["--data-dir"], { encoding: "utf8" });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter");
  if (process.platform === "win32")
    return path.join(process.env.APPDATA ?? os.homedir(), "jupyter");
  return path.join(
    process.env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share"),
    "jupyter",
  );
}

const dir = path.resolve(process.argv[2] ?? jupyterDataDir());
writeKernelSpec(dir);
console.log(`Installed the "tslab" kernel (TypeScript) in ${path.join(dir, "kernels", "tslab")}`);
console.log(
  'Open notebooks/ in JupyterLab and pick the kernel "TypeScript (tslab, workbook)" if asked.',
);
