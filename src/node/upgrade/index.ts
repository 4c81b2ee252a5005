/** What `ros` loads on demand (bundled apart as ros-upgrade.cjs: the registry client and the verifier are not needed at boot). */
export { checkUpgrade, estimateImageBytes, renderCheck, resolveImage, resolveUpgrade } from './check.js';
export { unpackImage } from './unpack-image.js';
export { upgradeSystem } from './upgrade.js';
export { writeImage } from './write-image.js';
