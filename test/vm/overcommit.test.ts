// vm.overcommit_memory / vm.overcommit_ratio per pid namespace (patch 0006).
import { vmFeature } from './lib/feature.js';

vmFeature('per-pid-namespace overcommit policy', ['50-overcommit.sh'], [
  { name: 'overcommit.strict_ns_refuses', title: 'mode 2, ratio 10 in A: a 600 MiB mmap fails' },
  { name: 'overcommit.always_ns_allows', title: 'mode 1 in B: a 64 GiB mmap succeeds' },
  { name: 'overcommit.init_unchanged', title: 'the initial namespace keeps its mode and ratio' },
  { name: 'overcommit.bounds', title: 'out-of-range values are refused in a namespace' },
]);
