/** Workbook settings follow WORKBOOK_QUICK and the one settings file; misspelled keys are errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  describeSettings,
  isQuick,
  workbookConfigs,
  workbookSettings,
} from "../src/notebook/workbook";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { defaultTrainConfig, validateTrainConfig } from "../src/core/train";
import { defaultSchedule, validateSchedule } from "../src/core/sde";
import { nearestKey } from "../src/core/config-keys";

test("workbook settings: full = the sheet's, quick when WORKBOOK_QUICK=1", () => {
  const saved = process.env.WORKBOOK_QUICK;
  try {
    delete process.env.WORKBOOK_QUICK;
    assert.equal(isQuick(), false);
    assert.equal(workbookSettings().trainSteps, 100_000);
    assert.equal(workbookSettings().samplerSteps, 1000);
    process.env.WORKBOOK_QUICK = "1";
    assert.equal(workbookSettings().quick, true);
    assert.ok(workbookSettings().trainSteps < 100_000);
  } finally {
    if (saved === undefined) delete process.env.WORKBOOK_QUICK;
    else process.env.WORKBOOK_QUICK = saved;
  }
});

function settingsFileWith(content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workbook-settings-"));
  const file = path.join(dir, "settings.json");
  fs.writeFileSync(file, content);
  return file;
}

test("a misspelled setting names the key and the nearest valid one", () => {
  assert.throws(
    () => validateTrainConfig({ ...defaultTrainConfig(), lr: 3e-3 } as never),
    /Unknown key "lr" in TrainConfig; did you mean "learningRate"\?/,
  );
  assert.throws(
    () => validateSchedule({ ...defaultSchedule(), betamax: 10 } as never),
    /Unknown key "betamax" in schedule; did you mean "betaMax"\?/,
  );
  const model = { ...defaultTrainConfig().model, hiden: [128, 128] };
  assert.throws(
    () => validateTrainConfig({ ...defaultTrainConfig(), model } as never),
    /Unknown key "hiden" in TrainConfig.model; did you mean "hidden"\?/,
  );
  assert.equal(nearestKey("batchsize", ["batchSize", "seed"]), "batchSize");
  assert.equal(nearestKey("stepz", ["steps", "seed"]), "steps");
  assert.equal(nearestKey("zzzzzz", ["steps", "seed"]), undefined);
  // "lr" abbreviates both; its letters are learningRate's camelCase initials
  assert.equal(nearestKey("lr", ["learningRate", "lrSchedule"]), "learningRate");
  assert.equal(nearestKey("ls", ["learningRate", "lrSchedule"]), "lrSchedule");
});

test("the settings file: changes over the sheet's settings, errors that name the file", () => {
  const saved = process.env.WORKBOOK_QUICK;
  delete process.env.WORKBOOK_QUICK;
  try {
    const none = workbookConfigs(path.join(os.tmpdir(), "no-such-settings-file.json"));
    assert.deepEqual(none.train, defaultTrainConfig(), "no file: the sheet's settings");
    assert.equal(describeSettings(none.train), "the sheet's settings");
    assert.equal(none.sampler.steps, 1000);

    const file = settingsFileWith(
      '{ "train": { "learningRate": 0.003, "model": { "hidden": [128, 128] } }, "sampler": { "steps": 500 } }',
    );
    const changed = workbookConfigs(file);
    assert.equal(changed.train.learningRate, 0.003);
    assert.deepEqual(changed.train.model, { ...defaultTrainConfig().model, hidden: [128, 128] });
    assert.equal(changed.train.batchSize, 256, "untouched fields keep the sheet's values");
    assert.equal(changed.sampler.steps, 500);
    assert.equal(
      describeSettings(changed.train),
      "the sheet's settings except learningRate = 0.003 (sheet: 0.001), model.hidden = [128,128] (sheet: [64,64])",
    );

    assert.throws(
      () => workbookConfigs(settingsFileWith('{ "train": { "lr": 0.003 } }')),
      /settings file ".*settings\.json": Unknown key "lr" in TrainConfig; did you mean "learningRate"\?/,
    );
    assert.throws(
      () => workbookConfigs(settingsFileWith('{ "train": { "schedule": { "betamax": 10 } } }')),
      /Unknown key "betamax" in schedule; did you mean "betaMax"\?/,
    );
    assert.throws(
      () => workbookConfigs(settingsFileWith('{ "train": { "steps": 0 } }')),
      /settings file.*steps=0/,
    );
    assert.throws(
      () => workbookConfigs(settingsFileWith('{ "train": ')),
      /Cannot read the settings file ".*settings\.json": .*JSON/,
    );
  } finally {
    if (saved !== undefined) process.env.WORKBOOK_QUICK = saved;
  }
});
