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
  const script = [
    'set -eu',
    'cp -f /opt/vkernel-runtime/dist/vkernel-engine /host/usr/local/bin/vkernel-engine',
    'cp -f /opt/vkernel-runtime/bin/vkernel-runtime /host/usr/local/bin/vkernel-runtime',
    `/opt/vkernel-runtime/bin/vkernel-runtime install containerd --handler ${o.handler} --runtime-path /usr/local/bin/vkernel-runtime --config-path /host/etc/containerd/config.toml`,
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
              { name: 'host-bin', mountPath: '/host/usr/local/bin' },
              { name: 'containerd-config', mountPath: '/host/etc/containerd' },
            ],
          }],
          volumes: [
            { name: 'host-bin', hostPath: { path: '/usr/local/bin', type: 'DirectoryOrCreate' } },
            { name: 'containerd-config', hostPath: { path: '/etc/containerd', type: 'DirectoryOrCreate' } },
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
