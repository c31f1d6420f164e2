// Tests are TypeScript compiled by swc (fast, no type check); `tsc --noEmit` is the
// separate type check that ops/runtests runs first.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60000,
  // Services (MariaDB, Temporal, SMTP) are shared by all test files; running files in
  // parallel on 2 cores mostly adds contention.
  maxWorkers: 2,
  // A worker that has run many site-starting files is replaced once it holds this much after a
  // file: one ran out of its 4 GB heap near the end of the whole suite (what it kept is to find).
  workerIdleMemoryLimit: '1GB',
};
