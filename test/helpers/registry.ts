export { nonLoopbackAddress, startRegistry, type TestRegistry } from '../../src/bench/registry.js';
