/// The versions swetcd reports: the etcd API and server version it is compatible with.
public enum ServerVersion {
    /// What `Status.version` and `/version`'s `etcdserver` report.
    public static let server = "3.5.0"
    /// The cluster version members agree on (`/version`'s `etcdcluster`).
    public static let cluster = "3.5.0"
    /// The cluster version in its short form, as etcd logs it.
    public static let clusterMinor = "3.5"
    /// swetcd's own release.
    public static let swetcd = "0.1.0"
}
