import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * A minimal S3-compatible HTTP server for tests (test support, not the thing under test): one
 * bucket per top-level folder of `root`, path-style addressing, ListObjectsV2 (prefix,
 * start-after, max-keys, continuation-token), GetObject (Last-Modified from the file's mtime,
 * Content-Type / Content-Encoding from `setMeta`) and PutObject (plain bodies). Requests are
 * not authenticated. Counts requests by operation.
 */
export class S3TestServer {
  readonly root: string;
  readonly #server: Server;
  readonly #meta = new Map<string, { contentType?: string; contentEncoding?: string }>();
  readonly requests = { list: 0, get: 0, put: 0 };
  /** The query strings of every ListObjectsV2 call. */
  readonly listQueries: URLSearchParams[] = [];
  url = '';

  constructor(root: string) {
    this.root = root;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Content type and encoding GetObject reports for `bucket/key`. */
  setMeta(
    bucket: string,
    key: string,
    meta: { contentType?: string; contentEncoding?: string },
  ): void {
    this.#meta.set(`${bucket}/${key}`, meta);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const bucketDir = join(this.root, decodeURIComponent(bucket));
    if (req.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2') {
      this.requests.list++;
      this.listQueries.push(url.searchParams);
      await this.#list(bucket, bucketDir, url.searchParams, res);
    } else if (req.method === 'GET' && key !== '') {
      this.requests.get++;
      await this.#get(bucket, bucketDir, key, res);
    } else if (req.method === 'PUT' && key !== '') {
      this.requests.put++;
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const path = join(bucketDir, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(`${path}.tmp-put`, Buffer.concat(chunks));
      await rename(`${path}.tmp-put`, path);
      res.setHeader('ETag', '"put"');
      res.end();
    } else {
      error(res, 400, 'InvalidRequest', `unsupported ${req.method} ${req.url}`);
    }
  }

  async #list(bucket: string, dir: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
    const prefix = q.get('prefix') ?? '';
    const token = q.get('continuation-token');
    const startAfter =
      token !== null ? Buffer.from(token, 'base64').toString() : (q.get('start-after') ?? '');
    const maxKeys = Number(q.get('max-keys') ?? '1000');
    const all = (await walk(dir, '')).filter(
      (k) => k.startsWith(prefix) && byteCompare(k, startAfter) > 0,
    );
    all.sort(byteCompare);
    const page = all.slice(0, maxKeys);
    const truncated = all.length > page.length;
    const contents: string[] = [];
    for (const k of page) {
      const s = await stat(join(dir, k));
      contents.push(
        `<Contents><Key>${xml(k)}</Key><LastModified>${s.mtime.toISOString()}</LastModified><ETag>"e"</ETag><Size>${s.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      );
    }
    const next = truncated
      ? `<NextContinuationToken>${Buffer.from(page.at(-1) ?? '').toString('base64')}</NextContinuationToken>`
      : '';
    res.setHeader('Content-Type', 'application/xml');
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${next}${contents.join('')}</ListBucketResult>`,
    );
  }

  async #get(bucket: string, dir: string, key: string, res: ServerResponse): Promise<void> {
    let data: Buffer;
    let mtime: Date;
    try {
      const path = join(dir, key);
      mtime = (await stat(path)).mtime;
      data = await readFile(path);
    } catch {
      error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      return;
    }
    const meta = this.#meta.get(`${bucket}/${key}`);
    res.setHeader('Content-Type', meta?.contentType ?? 'application/octet-stream');
    if (meta?.contentEncoding !== undefined)
      res.setHeader('Content-Encoding', meta.contentEncoding);
    res.setHeader('Last-Modified', mtime.toUTCString());
    res.setHeader('Content-Length', data.length);
    res.setHeader('ETag', '"e"');
    res.end(data);
  }
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/xml');
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xml(message)}</Message></Error>`,
  );
}

async function walk(dir: string, under: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(join(dir, under), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const k = `${under}${e.name}`;
    if (e.isDirectory()) out.push(...(await walk(dir, `${k}/`)));
    else if (e.isFile() && !e.name.includes('.tmp-')) out.push(k);
  }
  return out;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
