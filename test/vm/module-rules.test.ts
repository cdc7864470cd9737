// Argument rules and the capability ceiling of the per-container module (issue 14 §2, §3; kernel
// patches 0012, 0013) through the real runtime in the guest; on the unpatched kernel the runtime
// refuses the request ("not the vkernel kernel"), so every kernel check FAILs with that reason.
import { vmFeature } from './lib/feature.js';
import { withModulePayload } from './lib/payload.js';

withModulePayload();

vmFeature('argument rules and capability ceiling through vkernel-runtime', ['75-module-rules.sh'], [
  { name: 'rules.kernel_features', title: '/sys/kernel/vkernel/features has syscall_args and caps_max' },
  { name: 'rules.features_listed', title: '`vkernel-runtime features` lists io.vkernel.syscall.namespaces, .personality and caps.max', failsUnpatched: false },
  { name: 'rules.bad_value_refused', title: 'a capability name Linux 6.1 lacks is refused at create, naming the key; nothing is left', failsUnpatched: false },
  { name: 'rules.create', title: 'create loads the module for a container with rules, one without, one with a ceiling that has CAP_NET_RAW, one with a ceiling that lets it change uid and make namespaces' },
  { name: 'rules.sysfs', title: 'the module shows ns_deny, personality and caps_max' },
  { name: 'rules.caps_sets_clamped', title: 'the container\'s process got capability sets inside the ceiling at exec (CapEff, CapBnd without CAP_NET_RAW)' },
  { name: 'rules.raw_socket_ceiling', title: 'root with CAP_NET_RAW in the spec cannot open a raw socket under a ceiling without it; can without a ceiling or with CAP_NET_RAW in it' },
  { name: 'rules.ns_unshare', title: 'unshare -n fails with namespaces=deny and works in the container without it' },
  { name: 'rules.ns_clone_clone3', title: 'clone(CLONE_NEWNET) and clone3(CLONE_NEWNET) fail with EPERM under namespaces=deny only' },
  { name: 'rules.ns_unshare_setns_syscalls', title: 'unshare(CLONE_NEWUTS) and setns(fd, 0) of a net namespace fail with EPERM under namespaces=deny only' },
  { name: 'rules.personality', title: 'personality(PER_LINUX32) fails outside the allowed values, personality(PER_LINUX) works; both work without the rule' },
  { name: 'rules.setuid_ceiling', title: 'uid 1000 running a set-uid root binary gets no CAP_NET_RAW under a ceiling without it (it does without a ceiling)' },
  { name: 'rules.filecap_ceiling', title: 'uid 1000 running a binary with the file capability cap_net_raw+ep gets no CAP_NET_RAW under a ceiling without it (the exec is refused: the ceiling cut it from the bounding set); without a ceiling it gets the raw socket' },
  { name: 'rules.userns_ceiling', title: 'a new user namespace gives its creator only the ceiling (no raw socket in the net namespace it owns); the full set without a ceiling; none under namespaces=deny' },
  { name: 'rules.exec_ceiling', title: '`runc exec` through the runtime: the exec\'d process is held to the ceiling and the namespace rule (exec itself works under namespaces=deny)' },
  { name: 'rules.unloaded_after_delete', title: 'delete --force removes the four modules' },
  { name: 'rules.no_oops', title: 'the kernel log has the load and unload lines and no oops' },
]);
