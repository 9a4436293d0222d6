// Prisma 7 (driver adapters, no engine download) on PostgreSQL, MySQL/MariaDB and SQLite: the
// client is generated here offline, then `events.insert(tx, …)` runs inside `$transaction`.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import type { PrismaHandle } from '../../../src/rsql/index.js';
import {
  committedOnly,
  errorsThroughTool,
  type Kind,
  rawDb,
  uniqueName,
} from '../../support/orm.js';

const run = promisify(execFile);
const providers: Record<Kind, string> = {
  postgres: 'postgresql',
  mysql: 'mysql',
  sqlite: 'sqlite',
};

interface PrismaClientLike extends PrismaHandle {
  $transaction<T>(fn: (tx: PrismaHandle) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}
type ClientClass = new (options: { adapter: unknown }) => PrismaClientLike;

/** Compiles the generated TypeScript client to JavaScript beside it (no type check: it is Prisma's). */
function transpile(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) transpile(path);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      const out = ts.transpileModule(readFileSync(path, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      writeFileSync(path.replace(/\.ts$/, '.js'), out.outputText);
    }
  }
}

// Inside the repository, so that the generated client resolves @prisma/client from node_modules.
const root = resolve('dist', 'test', uniqueName('prisma-client'));
const clients = new Map<Kind, ClientClass>();

before(async () => {
  const cli = resolve('node_modules', 'prisma', 'build', 'index.js');
  await Promise.all(
    (Object.keys(providers) as Kind[]).map(async (kind) => {
      const dir = join(root, kind);
      mkdirSync(dir, { recursive: true });
      const schema = join(dir, 'schema.prisma');
      writeFileSync(
        schema,
        `generator client {
  provider = "prisma-client"
  output = "./client"
  importFileExtension = "js"
  moduleFormat = "esm"
}
datasource db {
  provider = "${providers[kind]}"
}
model Probe {
  id Int @id
  @@map("reflex_prisma_probe")
}
`,
      );
      // Generating needs no engine binary: the schema engine is never run (hence /bin/false).
      await run(process.execPath, [cli, 'generate', '--schema', schema], {
        timeout: 120_000,
        env: {
          ...process.env,
          PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false',
          CHECKPOINT_DISABLE: '1',
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
        },
      });
      transpile(join(dir, 'client'));
      writeFileSync(join(dir, 'client', 'package.json'), '{"type":"module"}');
      const mod = (await import(pathToFileURL(join(dir, 'client', 'client.js')).href)) as {
        PrismaClient: ClientClass;
      };
      clients.set(kind, mod.PrismaClient);
    }),
  );
});

after(() => rmSync(root, { recursive: true, force: true }));

async function adapterFor(kind: Kind, url: string): Promise<unknown> {
  if (kind === 'postgres') {
    const { PrismaPg } = await import('@prisma/adapter-pg');
    return new PrismaPg({ connectionString: url, max: 2 });
  }
  if (kind === 'mysql') {
    const { PrismaMariaDb } = await import('@prisma/adapter-mariadb');
    const u = new URL(url);
    return new PrismaMariaDb({
      host: u.hostname,
      port: Number(u.port),
      user: decodeURIComponent(u.username),
      database: u.pathname.slice(1),
      connectionLimit: 2,
    });
  }
  const { PrismaBetterSqlite3 } = await import('@prisma/adapter-better-sqlite3');
  return new PrismaBetterSqlite3({ url: `file:${url}` });
}

for (const kind of ['mysql', 'postgres', 'sqlite'] as Kind[]) {
  describe(`Prisma on ${kind}`, () => {
    it('streams exactly the events of committed interactive transactions', async (t) => {
      const raw = await rawDb(t, kind);
      if (raw === undefined) return;
      const Client = clients.get(kind);
      if (Client === undefined) throw new Error(`no generated client for ${kind}`);
      const prisma = new Client({ adapter: await adapterFor(kind, raw.url) });
      try {
        await committedOnly<PrismaHandle>(raw, {
          transaction: (fn) => prisma.$transaction(fn),
          exec: async (tx, text) => void (await tx.$executeRawUnsafe(text)),
          tableOptions: { dialect: kind },
        });
        await errorsThroughTool(raw, prisma, { dialect: kind });
      } finally {
        await prisma.$disconnect();
        await raw.close();
      }
    });
  });
}
