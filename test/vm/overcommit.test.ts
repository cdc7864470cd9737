// vm.overcommit_memory / vm.overcommit_ratio and vm.transparent_hugepage
// per pid namespace (patches 0006, 0007).
import { vmFeature } from './lib/feature.js';

vmFeature('per-pid-namespace overcommit policy', ['50-overcommit.sh'], [
  // On a stock kernel A and B write the global values, so the first two pass
  // there too; init_unchanged is what tells a per-namespace value apart.
  { name: 'overcommit.strict_ns_refuses', title: 'mode 2, ratio 10 in A: a 600 MiB mmap fails', failsUnpatched: false },
  { name: 'overcommit.always_ns_allows', title: 'mode 1 in B: a 64 GiB mmap succeeds', failsUnpatched: false },
  { name: 'overcommit.init_unchanged', title: 'the initial namespace keeps its mode and ratio (A and B wrote their own copies)' },
  { name: 'overcommit.bounds', title: 'out-of-range values are refused in a namespace' },
]);

vmFeature('per-pid-namespace THP mode', ['55-thp.sh'], [
  { name: 'thp.never_ns_no_huge_pages', title: 'never in a namespace: 16 MiB of faults get no huge page' },
  { name: 'thp.always_ns_huge_pages', title: 'always in a namespace: huge pages are used' },
  { name: 'thp.madvise_ns_no_huge_pages', title: 'madvise in a namespace: none without madvise' },
  { name: 'thp.invalid_rejected', title: 'other words are refused' },
  { name: 'thp.init_unchanged', title: 'the global mode is unchanged' },
]);
