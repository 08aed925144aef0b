import { describe, expect, test } from 'vitest';
import { batchFile, fileInsertQuery, readStructure, readType } from './store-insert.ts';

describe('inserting a batch from a file', () => {
  test('the statement names the table, the columns and the file, quoted', () => {
    expect(fileInsertQuery({ table: 'watchllm.requests', columns: ['request_id', 'ts'], format: 'JSONCompactEachRow' }, "/data/it's \\ here/1.jsonl")).toBe(
      "INSERT INTO `watchllm`.`requests` (`request_id`, `ts`) SELECT * FROM file('/data/it\\'s \\\\ here/1.jsonl', 'JSONCompactEachRow')",
    );
    expect(fileInsertQuery({ table: 'events', format: 'JSONEachRow' }, '/d/2.ndjson', '`a` String')).toBe(
      "INSERT INTO `events` SELECT * FROM file('/d/2.ndjson', 'JSONEachRow', '`a` String')",
    );
  });

  test('names that are not plain identifiers, and formats other than the batch ones, are refused', () => {
    const file = '/d/1.jsonl';
    expect(() => fileInsertQuery({ table: 'requests; DROP TABLE x', format: 'JSONEachRow' }, file)).toThrow(/not a table or column name/);
    expect(() => fileInsertQuery({ table: 'a.b.c', format: 'JSONEachRow' }, file)).toThrow(/not a table or column name/);
    expect(() => fileInsertQuery({ table: 't', columns: ['a`b'], format: 'JSONEachRow' }, file)).toThrow(/not a table or column name/);
    expect(() => fileInsertQuery({ table: 't', format: 'CSV' as never }, file)).toThrow(/unsupported insert format/);
    expect(() => batchFile('/d', -1, 'JSONEachRow')).toThrow(/bad insert id/);
  });

  test('LowCardinality columns are read as their plain type; a column not known gives no structure', () => {
    expect(readType('LowCardinality(String)')).toBe('String');
    expect(readType('LowCardinality(Nullable(String))')).toBe('Nullable(String)');
    expect(readType('Map(String, String)')).toBe('Map(String, String)');
    expect(readType('Array(LowCardinality(String))')).toBe('Array(LowCardinality(String))');
    const types = new Map([
      ['model', 'LowCardinality(String)'],
      ['ts', "DateTime64(3, 'UTC')"],
    ]);
    expect(readStructure(['ts', 'model'], types)).toBe("`ts` DateTime64(3, 'UTC'), `model` String");
    expect(readStructure(['ts', 'added_later'], types)).toBeNull();
  });
});
