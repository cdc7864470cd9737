import { join } from 'node:path';

/** the adaptive controller's log of one container, beside our state file */
export const adaptiveLog = (root: string, id: string) => join(root, `vkernel@${id}.adaptive.log`);
