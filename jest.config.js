/** one project per test layer, so `npm run test:unit` etc. select by name */
const base = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  // middy is ESM-only: let ts-jest transpile it to CommonJS
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }] },
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  setupFiles: ['<rootDir>/test/support/offline-env.ts'],
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
};

module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...base, displayName: 'asl', testMatch: ['<rootDir>/test/asl/**/*.test.ts'] },
    { ...base, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
  ],
};
