/**
 * The air-gap bundle on a medium, as ros-build writes it (artifacts/bundle.ts)
 * and the node reads it (where it would otherwise download): an OCI image
 * layout of images with their cosign signatures (publish/oci-layout.ts), and
 * image tarballs for the cluster's agent in images/.
 */

/** On COS_OEM (disks), mounted at /oem on the node. */
export const OEM_BUNDLE_DIR = 'bundle';

/** On the ISO, mounted at /run/initramfs/live on the live system. */
export const MEDIUM_BUNDLE_DIR = 'ros/bundle';

/** Where the node looks, under its root: COS_OEM's bundle, then the live medium's (ISO). */
export const BUNDLE_DIRS = [`oem/${OEM_BUNDLE_DIR}`, `run/initramfs/live/${MEDIUM_BUNDLE_DIR}`];

/** The tarballs' subdirectory. */
export const BUNDLE_IMAGES_DIR = 'images';
