//! The tauri-driver process: started on free loopback ports with its output sent to files,
//! and stopped with SIGTERM.
//!
//! Both choices avoid hangs seen on this machine kind: tauri-driver answers SIGTERM by killing
//! WebKitWebDriver, while SIGKILL would orphan WebKitWebDriver, which keeps inherited pipes open
//! and stalls whatever reads them (the `tee` in scripts/test.sh). Files instead of inherited
//! pipes mean even an orphan cannot hold the pipeline open.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running tauri-driver. Dropping it without [`TauriDriver::stop`] still sends SIGTERM.
pub struct TauriDriver {
    child: Option<Child>,
    port: u16,
    stdout_log: PathBuf,
    stderr_log: PathBuf,
}

/// Asks the kernel for a free loopback port. The port is released before tauri-driver binds
/// it, so another process could take it in between; on a CI machine nothing else races for it.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot bind a loopback port to learn a free one: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("cannot read the bound port: {e}"))
}

impl TauriDriver {
    /// Starts `binary` and waits until it accepts connections or `ready_within` passes.
    /// `native_driver`, when given, is the WebKitWebDriver to use instead of the one on PATH.
    pub fn start(
        binary: &Path,
        native_driver: Option<&Path>,
        log_dir: &Path,
        ready_within: Duration,
    ) -> Result<Self, String> {
        let port = free_port()?;
        let mut native_port = free_port()?;
        while native_port == port {
            native_port = free_port()?;
        }
        std::fs::create_dir_all(log_dir)
            .map_err(|e| format!("cannot create log folder {}: {e}", log_dir.display()))?;
        let stdout_log = log_dir.join("tauri-driver.stdout.log");
        let stderr_log = log_dir.join("tauri-driver.stderr.log");
        let open =
            |p: &Path| File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));

        let mut cmd = Command::new(binary);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .stdin(Stdio::null())
            .stdout(open(&stdout_log)?)
            .stderr(open(&stderr_log)?);
        if let Some(native) = native_driver {
            cmd.arg("--native-driver").arg(native);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start tauri-driver at {}: {e}", binary.display()))?;
        let mut driver = TauriDriver {
            child: Some(child),
            port,
            stdout_log,
            stderr_log,
        };

        let deadline = Instant::now() + ready_within;
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(driver);
            }
            if let Some(child) = driver.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    driver.child = None;
                    return Err(format!(
                        "tauri-driver exited ({status}) before listening on port {port}; {}",
                        driver.log_tail()
                    ));
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "tauri-driver did not listen on port {port} within {ready_within:?}; {}",
                    driver.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The WebDriver URL clients connect to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of tauri-driver's logs (which also hold the app's own output, since
    /// WebKitWebDriver starts the app with the same stdout and stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        let tail = |p: &Path| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n    ")
        };
        format!(
            "tauri-driver stdout ({}):\n    {}\n  stderr ({}):\n    {}",
            self.stdout_log.display(),
            tail(&self.stdout_log),
            self.stderr_log.display(),
            tail(&self.stderr_log)
        )
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit.
    pub fn stop(mut self, within: Duration) -> Result<(), String> {
        self.terminate(within)
    }

    fn terminate(&mut self, within: Duration) -> Result<(), String> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = libc::pid_t::try_from(child.id())
            .map_err(|_| format!("tauri-driver pid {} does not fit pid_t", child.id()))?;
        // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped) and a valid signal.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(format!(
                "SIGTERM to tauri-driver ({pid}) failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        let deadline = Instant::now() + within;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                Ok(None) => {
                    return Err(format!(
                        "tauri-driver ({pid}) still running {within:?} after SIGTERM; left for the outer timeout"
                    ))
                }
                Err(e) => return Err(format!("cannot wait for tauri-driver ({pid}): {e}")),
            }
        }
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        if let Err(e) = self.terminate(Duration::from_secs(10)) {
            eprintln!("e2e: {e}");
        }
    }
}
