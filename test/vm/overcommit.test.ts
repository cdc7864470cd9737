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

// Commit accounting per namespace (issue 12 §2): hierarchical, a namespace's mode never loosens a
// limit above it. On a kernel without mm_policy every check FAILs with that reason.
vmFeature('per-namespace commit accounting', ['52-commit.sh'], [
  { name: 'overcommit.host_limit_holds', title: 'host in mode 2, a namespace writes mode 1 and commits: ENOMEM within the host\'s headroom' },
  { name: 'overcommit.host_allocates', title: '...while it holds that, the host still forks and maps' },
  { name: 'overcommit.ns_own_accounting', title: 'two namespaces in mode 2: each limited by its own commitments (B gets 60 % of its limit while A holds 60 % of its own; more than the limit fails)' },
  { name: 'overcommit.nested_no_loosening', title: 'a namespace nested in a mode-2 one writes mode 1: the outer limit still holds' },
  { name: 'overcommit.accounts_balanced', title: 'no warning in the kernel log (every account freed with nothing charged)', failsUnpatched: false },
]);

vmFeature('per-pid-namespace THP mode', ['55-thp.sh'], [
  { name: 'thp.never_ns_no_huge_pages', title: 'never in a namespace: 16 MiB of faults get no huge page' },
  { name: 'thp.always_ns_huge_pages', title: 'always in a namespace: huge pages are used' },
  { name: 'thp.madvise_ns_no_huge_pages', title: 'madvise in a namespace: none without madvise' },
  { name: 'thp.invalid_rejected', title: 'other words are refused' },
  { name: 'thp.init_unchanged', title: 'the global mode is unchanged' },
  { name: 'thp.khugepaged_collapses', title: 'control: khugepaged collapses a registered child\'s small pages in a plain namespace within 8 s', failsUnpatched: false },
  { name: 'thp.khugepaged_never_ns', title: 'khugepaged does not collapse the memory of a namespace whose mode is never (global always) (issue 12 §3)' },
]);
