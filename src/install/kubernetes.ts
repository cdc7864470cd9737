import { stringify } from 'yaml';

export interface KubeOptions { handler: string; image: string; namespace: string }

/** RuntimeClass + node installer DaemonSet, the way kata-deploy / the NVIDIA operator ship theirs */
export function kubernetesManifests(o: KubeOptions): Record<string, string> {
  const runtimeClass = {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name: o.handler },
    handler: o.handler,
    scheduling: { nodeSelector: { 'vkernel-runtime/installed': 'true' } },
  };
  const labels = { app: 'vkernel-runtime-installer' };
  // `install node`: the launcher, the engine beside it in dist/ and the module source go to
  // /opt/vkernel-runtime/releases/<hash> with /usr/local/bin/vkernel-runtime linked to it; containerd
  // gets a drop-in with the handler (SystemdCgroup as the node's runc handler or kubelet) and
  // config.toml an `imports` line; /etc/vkernel-runtime/config.yaml has env off as a policy source
  const script = [
    'set -eu',
    `/opt/vkernel-runtime/bin/vkernel-runtime install node --node-root /host --handler ${o.handler}`,
    // containerd re-reads runtime handlers only on restart
    'nsenter -t 1 -m -u -i -n -p -- systemctl restart containerd',
    'kubectl label node "$NODE_NAME" vkernel-runtime/installed=true --overwrite || true',
    'sleep infinity',
  ].join('\n');
  const daemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'vkernel-runtime-installer', namespace: o.namespace, labels },
    spec: {
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          hostPID: true,
          serviceAccountName: 'vkernel-runtime-installer',
          containers: [{
            name: 'installer',
            image: o.image,
            command: ['/bin/sh', '-c', script],
            env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
            securityContext: { privileged: true },
            volumeMounts: [
              { name: 'runtime-home', mountPath: '/host/opt/vkernel-runtime' },
              { name: 'host-bin', mountPath: '/host/usr/local/bin' },
              { name: 'containerd-config', mountPath: '/host/etc/containerd' },
              { name: 'runtime-config', mountPath: '/host/etc/vkernel-runtime' },
              { name: 'kubelet', mountPath: '/host/var/lib/kubelet', readOnly: true },
            ],
          }],
          volumes: [
            { name: 'runtime-home', hostPath: { path: '/opt/vkernel-runtime', type: 'DirectoryOrCreate' } },
            { name: 'host-bin', hostPath: { path: '/usr/local/bin', type: 'DirectoryOrCreate' } },
            { name: 'containerd-config', hostPath: { path: '/etc/containerd', type: 'DirectoryOrCreate' } },
            { name: 'runtime-config', hostPath: { path: '/etc/vkernel-runtime', type: 'DirectoryOrCreate' } },
            { name: 'kubelet', hostPath: { path: '/var/lib/kubelet', type: 'DirectoryOrCreate' } },
          ],
        },
      },
    },
  };
  const rbac = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'vkernel-runtime-installer', namespace: o.namespace } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'vkernel-runtime-installer' },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'vkernel-runtime-installer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'vkernel-runtime-installer' },
      subjects: [{ kind: 'ServiceAccount', name: 'vkernel-runtime-installer', namespace: o.namespace }] },
  ];
  return {
    'rbac.yaml': rbac.map((d) => stringify(d)).join('---\n'),
    'runtimeclass.yaml': stringify(runtimeClass),
    'installer-daemonset.yaml': stringify(daemonSet),
  };
}
