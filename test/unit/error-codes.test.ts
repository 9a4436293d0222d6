import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../src/core/index.js';
import { FiltersErrorCode } from '../../src/filters/index.js';
import { GrpcErrorCode } from '../../src/grpc/index.js';
import { NatsErrorCode } from '../../src/nats/index.js';
import { RblobErrorCode } from '../../src/rblob/index.js';
import { RpatternsErrorCode } from '../../src/rpatterns/index.js';
import { RsqlErrorCode } from '../../src/rsql/index.js';
import { TestingErrorCode } from '../../src/testing/index.js';

/** Every package's code object, by the name docs/errors.md uses and the owner it names. */
const schemes: [string, string, Readonly<Record<string, string>>][] = [
  ['ErrorCode', 'core', ErrorCode],
  ['FiltersErrorCode', 'filters', FiltersErrorCode],
  ['GrpcErrorCode', 'grpc', GrpcErrorCode],
  ['NatsErrorCode', 'nats', NatsErrorCode],
  ['RblobErrorCode', 'rblob', RblobErrorCode],
  ['RpatternsErrorCode', 'rpatterns', RpatternsErrorCode],
  ['RsqlErrorCode', 'rsql', RsqlErrorCode],
  ['TestingErrorCode', 'testing', TestingErrorCode],
];

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
/** The table rows of docs/errors.md: code → [owner, declared as]. */
const rows = new Map<string, [string, string]>();
for (const line of docs.split('\n')) {
  const cells = line.split('|').map((c) => c.trim());
  const code = /^`(ERR_[A-Z_]+)`$/.exec(cells[1] ?? '')?.[1];
  if (code !== undefined) rows.set(code, [cells[2] ?? '', cells[3] ?? '']);
}

describe('error codes: one scheme, each package owning its codes', () => {
  it('no code string is declared by two packages, and every one is ERR_REFLEX_*', () => {
    const owners = new Map<string, string>();
    for (const [name, , codes] of schemes) {
      for (const [member, value] of Object.entries(codes)) {
        assert.match(value, /^ERR_REFLEX_[A-Z_]+$/, `${name}.${member}`);
        const other = owners.get(value);
        assert.equal(other, undefined, `${value} declared by ${other} and ${name}.${member}`);
        owners.set(value, `${name}.${member}`);
      }
    }
  });

  it('docs/errors.md has a row per code, naming its owner and its member', () => {
    for (const [name, owner, codes] of schemes) {
      for (const [member, value] of Object.entries(codes)) {
        const row = rows.get(value);
        assert.ok(row, `${value} (${name}.${member}) is missing from docs/errors.md`);
        assert.ok(row[0].startsWith(owner), `${value}: owner ${row[0]}, declared by ${owner}`);
        assert.equal(row[1], `\`${name}.${member}\``, `${value}: declared as`);
      }
    }
    const declared = new Set(schemes.flatMap(([, , codes]) => Object.values(codes)));
    for (const code of rows.keys())
      assert.ok(declared.has(code), `${code} is documented but not declared`);
  });
});
