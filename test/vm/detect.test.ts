// /sys/kernel/vkernel detection files (patch 0001) and the modules' containers directory (0010).
import { vmFeature } from './lib/feature.js';

vmFeature('vkernel detection', ['00-detect.sh'], [
  { name: 'detect.abi_version', title: '/sys/kernel/vkernel/abi_version is 2 (the enable file exists)' },
  { name: 'detect.features', title: '/sys/kernel/vkernel/features lists the feature words (all 10)' },
  { name: 'detect.enable_file', title: '/sys/kernel/vkernel/enable exists, mode 0200, not readable' },
  { name: 'detect.containers_dir', title: '/sys/kernel/vkernel/containers exists, empty, before any module' },
]);
