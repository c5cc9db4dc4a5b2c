/** The config a command runs with; what is no setting is said on stderr (serve logs it instead). */
import { resolveConfig, type Config } from '../config/config.js';

export function loadConfig(argv: Readonly<Record<string, unknown>>): Config {
  const config = resolveConfig(argv, process.env);
  for (const w of config.warnings) console.error(`faxbridge: warning: ${w}`);
  return config;
}
