import { loadConfigFile as loadFile, loadConfigText as loadText, type LoadedConfig } from '../config/loader.js';
import { configSchema, type Config } from './schema.js';

/** gatehouse.yaml, loaded and validated against the composed schema (see schema.ts). */
export type LoadedGatehouseConfig = LoadedConfig<Config>;

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedGatehouseConfig {
  return loadFile(file, configSchema, env);
}

export function loadConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedGatehouseConfig {
  return loadText(text, file, configSchema, env);
}
