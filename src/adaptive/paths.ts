import { join, posix } from 'node:path';

/** the adaptive controller's log of one container, beside our state file */
export const adaptiveLog = (root: string, id: string) => join(root, `vkernel@${id}.adaptive.log`);

/**
 * The cpu group the controller of container `id` runs in: a sibling of the container's group
 * (`<parent>/vkernel-adaptive-<id>`). Its CPU counts to the container's parent (the pod's group
 * under Kubernetes, limited by the pod's limits) and never to the container's own usage, which the
 * controller measures; cpu.shares/cpu.weight keep it small next to its siblings.
 */
export const controllerGroupPath = (containerPath: string, id: string) => posix.join(posix.dirname(containerPath), `${CONTROLLER_GROUP_PREFIX}${id}`);

/** the name of a controller's group is this prefix and the container id */
export const CONTROLLER_GROUP_PREFIX = 'vkernel-adaptive-';
