import { readFile, rename, writeFile } from 'node:fs/promises';
import type { CursorStore } from '../../src/core/index.js';

/**
 * A CursorStore persisted in a JSON file (written on every set, atomically), standing in for a
 * SQL cursors table in tests that restart a consumer: a new instance reads what the old wrote.
 */
export class FileCursorStore implements CursorStore {
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
  }

  async #read(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(this.#path, 'utf8')) as Record<string, string>;
    } catch (err) {
      if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return {};
      throw err;
    }
  }

  async getCursor(name: string): Promise<string> {
    return (await this.#read())[name] ?? '';
  }

  async setCursor(name: string, cursor: string): Promise<void> {
    const all = await this.#read();
    all[name] = cursor;
    await writeFile(`${this.#path}.tmp`, JSON.stringify(all));
    await rename(`${this.#path}.tmp`, this.#path);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}
