#!/usr/bin/env node
// The `govledger` CLI: runs the TypeScript entry point through tsx, so the
// package needs no build step locally.
import { register } from 'tsx/esm/api';

register();
await import('./govledger.ts');
