/**
 * The usage checks the operator CLIs that need a configuration share (`discover`, `plan`): bad
 * arguments are exit 2 with the help, `--help` is exit 0, a missing `--config` is exit 2.
 */
export type Usage<V> = { ok: true; values: V & { config: string } } | { ok: false; exitCode: number };

export function readUsage<V extends { help?: boolean; config?: string }>(
  name: string,
  help: string,
  parse: () => { values: V },
): Usage<V> {
  let values: V;
  try {
    values = parse().values;
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n\n${help}\n`);
    return { ok: false, exitCode: 2 };
  }
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return { ok: false, exitCode: 0 };
  }
  if (values.config === undefined) {
    process.stderr.write(`${name}: --config is required\n\n${help}\n`);
    return { ok: false, exitCode: 2 };
  }
  return { ok: true, values: values as V & { config: string } };
}
