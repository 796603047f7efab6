using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EdgeLabeling.Edge.Hosting;

/// <summary>
/// The few POSIX account calls the self-test needs (libc, Linux): who owns a folder, whether a group exists,
/// and dropping from root to the component's user. Layouts used here (statx, the head of struct passwd/group)
/// are the same on x86-64 and aarch64.
/// </summary>
internal static class UnixAccounts
{
    private const int AtFdCwd = -100;
    private const uint StatxUid = 0x8;
    private const uint StatxGid = 0x10;

    public static bool IsRoot => geteuid() == 0;

    /// <summary>Owner uid and gid of <paramref name="path"/>.</summary>
    public static (uint Uid, uint Gid) OwnerOf(string path)
    {
        var buffer = new byte[256];
        if (statx(AtFdCwd, path, 0, StatxUid | StatxGid, buffer) != 0)
        {
            throw new IOException($"cannot stat '{path}': errno {Marshal.GetLastPInvokeError()}");
        }

        // struct statx: u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid, u32 gid, ...
        return (BitConverter.ToUInt32(buffer, 20), BitConverter.ToUInt32(buffer, 24));
    }

    /// <summary>Name and primary gid of a uid, or null when the account database has no such user.</summary>
    public static (string Name, uint Gid)? User(uint uid)
    {
        var pw = getpwuid(uid);
        if (pw == IntPtr.Zero)
        {
            return null;
        }

        // struct passwd: char *pw_name, char *pw_passwd, uid_t pw_uid, gid_t pw_gid, ...
        var name = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(pw)) ?? "";
        var gid = (uint)Marshal.ReadInt32(pw, (2 * IntPtr.Size) + 4);
        return (name, gid);
    }

    /// <summary>The gid of a group name, or null when there is no such group.</summary>
    public static uint? GroupId(string name)
    {
        var gr = getgrnam(name);
        // struct group: char *gr_name, char *gr_passwd, gid_t gr_gid, ...
        return gr == IntPtr.Zero ? null : (uint)Marshal.ReadInt32(gr, 2 * IntPtr.Size);
    }

    /// <summary>
    /// Becomes <paramref name="uid"/> for good (supplementary groups read afresh from the group database, so
    /// a membership added a moment ago counts). glibc applies the change to every thread of the process.
    /// </summary>
    public static void DropTo(uint uid, string name, uint gid)
    {
        if (initgroups(name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        {
            throw new InvalidOperationException($"could not switch to user '{name}' (uid {uid}): errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static void SetOwner(string path, uint uid, uint gid)
    {
        if (chown(path, uid, gid) != 0)
        {
            throw new IOException($"chown '{path}' to {uid}:{gid} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Runs an account tool (groupadd, usermod); throws with its stderr when it fails.</summary>
    public static void Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool, args) { RedirectStandardError = true, RedirectStandardOutput = true };
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException($"{tool} did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{tool} is not available ({ex.Message})", ex);
        }

        using (p)
        {
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {err.Trim()}");
            }
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int statx(int dirfd, string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr getpwuid(uint uid);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern IntPtr getgrnam(string name);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int initgroups(string user, uint group);

    [DllImport("libc", SetLastError = true)]
    private static extern int setgid(uint gid);

    [DllImport("libc", SetLastError = true)]
    private static extern int setuid(uint uid);

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int chown(string path, uint owner, uint group);
}
