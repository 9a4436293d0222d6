import type { Dirent } from 'node:fs';
import { type FileHandle, open, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ReflexError } from '../core/index.js';
import { invalidArgument } from '../internal/errors.js';
import { checkOptionKeys, intOption } from '../internal/options.js';
import type { Bucket, BucketListOptions, OpenedBlob } from './bucket.js';
import { compareKeys } from './bucket.js';
import { RblobErrorCode } from './errors.js';

/** Options of {@link newDirBucket}. */
export interface DirBucketOptions {
  /** The bucket's name (the metrics label). @default the directory path */
  readonly name?: string;
  /** Bytes read from the file at a time. @default 65536 */
  readonly chunkSize?: number;
}

/**
 * A bucket on a local directory: the key of a file is its path relative to `dir`, with `/`
 * between path segments (`2026/11/28/13/a.json`). Only regular files are blobs; the listing
 * walks the tree in key order and skips subtrees that cannot hold a wanted key. Files and
 * folders whose name contains a backslash are not listed (no key may hold one). A blob's
 * modification time is the file's mtime.
 *
 * Writers must make each file appear complete (write it under another name, then rename it into
 * place), as an object store does.
 *
 * @example
 * const stream = newBlobStream(newDirBucket('/var/archive/events'), { prefix: '2026/' });
 */
export function newDirBucket(dir: string, options: DirBucketOptions = {}): Bucket {
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir must be a non-empty path');
  checkOptionKeys(options, ['name', 'chunkSize'], 'newDirBucket');
  const chunkSize = intOption(options.chunkSize, 'chunkSize', 65536, 1);
  return new DirBucket(resolve(dir), options.name ?? dir, chunkSize);
}

class DirBucket implements Bucket {
  readonly name: string;
  readonly #root: string;
  readonly #chunkSize: number;

  constructor(root: string, name: string, chunkSize: number) {
    this.#root = root;
    this.name = name;
    this.#chunkSize = chunkSize;
  }

  async list(options: BucketListOptions): Promise<readonly string[]> {
    const out: string[] = [];
    await this.#walk('', options, out);
    return out;
  }

  /** Appends the wanted keys under directory `dirKey` ('' or ending in '/') to `out`, in order. */
  async #walk(dirKey: string, options: BucketListOptions, out: string[]): Promise<void> {
    options.signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.#root, dirKey), { withFileTypes: true });
    } catch (err) {
      // The root may not exist yet (nothing written), and a directory may vanish.
      if (isNotFound(err)) return;
      throw err;
    }
    const { prefix, startAfter } = options;
    // A name with a backslash is no key open() accepts (it refuses `\\`): listing it would end
    // the stream, so it is not a blob (nor a folder of blobs).
    // A directory's keys all start with `name/`: sorting it as such gives global key order.
    const children = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && !e.name.includes('\\'))
      .map((e) => ({
        dir: e.isDirectory(),
        key: `${dirKey}${e.name}${e.isDirectory() ? '/' : ''}`,
      }))
      .sort((a, b) => compareKeys(a.key, b.key));
    for (const child of children) {
      if (out.length >= options.limit) return;
      if (child.dir) {
        const under = child.key;
        if (!under.startsWith(prefix) && !prefix.startsWith(under)) continue;
        // Every key under it sorts before startAfter unless startAfter is itself under it.
        if (compareKeys(under, startAfter) < 0 && !startAfter.startsWith(under)) continue;
        await this.#walk(under, options, out);
      } else if (child.key.startsWith(prefix) && compareKeys(child.key, startAfter) > 0) {
        out.push(child.key);
      }
    }
  }

  async open(key: string, options: { readonly signal?: AbortSignal } = {}): Promise<OpenedBlob> {
    checkKey(key);
    options.signal?.throwIfAborted();
    let handle: FileHandle;
    try {
      handle = await open(join(this.#root, key), 'r');
    } catch (err) {
      if (isNotFound(err)) {
        throw new ReflexError(
          RblobErrorCode.notFound,
          `blob ${JSON.stringify(key)} not found in bucket ${this.name}`,
          { cause: err },
        );
      }
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) {
        throw new ReflexError(RblobErrorCode.notFound, `blob ${JSON.stringify(key)} is not a file`);
      }
      options.signal?.throwIfAborted();
      const body = handle.createReadStream({ highWaterMark: this.#chunkSize });
      return { info: { key, modified: stat.mtime }, body, close: () => body.destroy() };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Refuses keys that would leave the directory (a cursor is user input). */
function checkKey(key: string): void {
  if (
    typeof key !== 'string' ||
    key === '' ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((s) => s === '..' || s === '.' || s === '')
  ) {
    throw invalidArgument(`invalid blob key ${JSON.stringify(key)} for a directory bucket`);
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}
