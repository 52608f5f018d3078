//! The `gemba` command: parses arguments, calls the library, prints. No logic of its own.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use gemba::config::Config;

/// mimalloc: the import maps rows on one thread and frees them on the writer's; glibc's malloc
/// spent a sixth of an import in its arenas' locks and bookkeeping.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use gemba::demo::{self, DemoParams};
use gemba::import::{ImportOptions, import_file};
use gemba::mapping::{BUILTIN_PROFILES, Mapping};
use gemba::metrics::{Engine, Scope, Step, frame};
use gemba::pull::PullRequest;
use gemba::report;
use gemba::store::{self, Store};
use gemba::sync::manifest::{BUILTIN as BUILTIN_MANIFESTS, Manifest, user_manifests};
use gemba::sync::{Connector, Progress, SyncOptions};

#[derive(Parser)]
#[command(
    name = "gemba",
    version,
    about = "The lean maintenance board: work orders from your CMMS, the numbers your crew steers by, and what to pull next."
)]
struct Cli {
    /// Store URL: sqlite:FILE (created if missing).
    #[arg(
        long,
        global = true,
        env = "GEMBA_DB",
        default_value = "sqlite:gemba.db"
    )]
    db: String,
    /// Config file; default config/gemba.toml if it exists, else the built-in demo plant.
    #[arg(long, global = true, env = "GEMBA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import CSV exports or workbooks (.xlsx, .xls, .ods) through a mapping profile (one
    /// transaction per file).
    Import(ImportArgs),
    /// Fill the store with the demo plant, or write it as a generic CSV with --csv.
    Demo(DemoArgs),
    /// List import runs, or the rejected rows of one run.
    Imports {
        /// Show the rejected rows of this run.
        #[arg(long, value_name = "RUN")]
        rejections: Option<i64>,
        /// How many runs to list.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// List the CSV profiles: shipped ones and those in <config dir>/csv/.
    Profiles,
    /// Draft a profile from an export: `gemba profile new FILE`.
    Profile {
        #[command(subcommand)]
        action: ProfileAction,
    },
    /// Sync work orders from the CMMS APIs of the config's [connectors] (all, or those named).
    Sync {
        /// Connectors to sync (names of [connectors.NAME] tables); all when none is given.
        names: Vec<String>,
        /// Ignore the watermark and fetch every record.
        #[arg(long)]
        full: bool,
        /// Fetch and map, but write nothing: shows what a sync would store.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the connector manifests (shipped and <config dir>/connectors/), the configured
    /// connectors, and the environment variables each one needs.
    Connectors,
    /// The numbers a maintenance team steers by, for one date and scope (docs/metrics.md).
    Kpis {
        #[command(flatten)]
        at: AsOf,
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What each crew should start next, within today's capacity, with the reason (docs/pull.md).
    Pull {
        /// The day (plant time); default today. Statuses are those of the last import.
        #[arg(long)]
        date: Option<NaiveDate>,
        #[command(flatten)]
        scope: ScopeArgs,
        /// What-if: technicians available, as CREW=N (repeat for more crews).
        #[arg(long, value_name = "CREW=N")]
        technicians: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The series of as-of values of one or more metrics.
    Trend {
        /// Metric keys, comma separated (e.g. backlog_weeks,reactive_pct).
        #[arg(long, value_delimiter = ',', required = true)]
        metric: Vec<String>,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// Step between points: 1d, 7d, 2w, 1mo.
        #[arg(long, default_value = "7d")]
        every: String,
        /// Length of the flow window in days (default: metrics.window_days of the config).
        #[arg(long)]
        window_days: Option<u32>,
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The scheduled jobs of the config: next run times and last outcome; `run NAME` runs one now.
    Schedules {
        #[command(subcommand)]
        action: Option<SchedulesAction>,
    },
    /// Hash a password for `[auth] users` in the config: reads it from standard input.
    HashPassword,
    /// Store today's metrics of the plant and every site, area and crew (run daily; imports do it too).
    Snapshot,
    /// The board, the JSON API and health checks, on the embedded store.
    Serve {
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Load the demo plant first when the store is empty.
        #[arg(long)]
        demo: bool,
        /// Run no scheduled jobs here: with several instances on one PostgreSQL store, one
        /// instance runs the [[schedules]] and the others pass this (docs/deploy.md).
        #[arg(long)]
        no_jobs: bool,
    },
    /// Move a store to another database, or back one up (docs/deploy.md).
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
}

#[derive(Subcommand)]
enum StoreAction {
    /// Copy everything from one store into another (SQLite to PostgreSQL, or back), in one
    /// transaction on the target, with the row counts checked before it commits.
    Copy {
        /// The store to copy from (default: --db / GEMBA_DB).
        #[arg(long)]
        from: Option<String>,
        /// The store to copy into: empty, or replaced with --force. Give a PostgreSQL password
        /// in PGPASSWORD rather than in the URL.
        #[arg(long)]
        to: String,
        /// Replace what the target holds.
        #[arg(long)]
        force: bool,
    },
    /// A consistent copy of the SQLite store into FILE, made while it is in use.
    Backup {
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum SchedulesAction {
    /// Run one job now, as its schedule would.
    Run { name: String },
}

#[derive(Args)]
struct AsOf {
    /// The as-of date (plant time): metrics as at the end of that day; default now.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Length of the flow window in days (default: metrics.window_days of the config).
    #[arg(long)]
    window_days: Option<u32>,
}

#[derive(Args)]
struct ScopeArgs {
    #[arg(long)]
    site: Option<String>,
    #[arg(long)]
    area: Option<String>,
    #[arg(long)]
    crew: Option<String>,
}

impl ScopeArgs {
    fn scope(self) -> Scope {
        Scope {
            site: self.site,
            area: self.area,
            crew: self.crew,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
struct ImportArgs {
    /// CSV files or workbooks to import, each in its own transaction.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The sheet of a workbook to read (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// Map every row and show what would be imported, the rejections and the values found per
    /// field; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Mapping profile: a shipped name (generic, atlas, maximo, sap-pm), one in <config dir>/csv/, or a .toml path.
    #[arg(long)]
    profile: String,
    /// The `source` of the imported orders (default: the profile's).
    #[arg(long)]
    source: Option<String>,
    /// Any rejected row fails the file and writes nothing.
    #[arg(long)]
    strict: bool,
}

#[derive(Subcommand)]
enum ProfileAction {
    /// Read an export's header and a sample of its rows, guess each field's column, list the
    /// codes of its kind, status and priority columns, and write a commented profile to edit.
    New {
        /// The export: CSV or a workbook.
        file: PathBuf,
        /// The profile's name (default: from the file name).
        #[arg(long)]
        name: Option<String>,
        /// The sheet of a workbook (default: the first).
        #[arg(long)]
        sheet: Option<String>,
        /// Where to write it (default: <config dir>/csv/NAME.toml); `-` prints it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace a profile file that exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Random seed: the same seed gives the same plant.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Orders created per day, on average.
    #[arg(long, default_value_t = 30.0)]
    orders_per_day: f64,
    /// Days of history up to --until.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Last day of history (plant time); default today.
    #[arg(long)]
    until: Option<NaiveDate>,
    /// Write a generic CSV to this file instead of filling the store ("-" for stdout).
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Exactly this many orders instead of --orders-per-day (with --csv any number: memory does
    /// not grow with it).
    #[arg(long)]
    orders: Option<u64>,
}

/// No transparent huge pages for this process. mimalloc asks for them on its arenas, where a
/// few live blocks can then keep a whole 2 MiB resident after mimalloc has given the rest back.
/// Under load, with the engine reloaded every few seconds, the server's resident memory rose
/// some 20 MB a minute while its live heap stayed flat; without huge pages it levels off, and
/// imports are no slower (docs/performance.md, the soak).
#[cfg(target_os = "linux")]
fn no_huge_pages() {
    if let Err(e) = nix::sys::prctl::set_thp_disable(true) {
        tracing::warn!("could not turn transparent huge pages off for this process: {e}");
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GEMBA_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    #[cfg(target_os = "linux")]
    no_huge_pages();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Import(args) => import(&cli.db, &config, args),
        Command::Demo(args) => demo_cmd(&cli.db, &config, args),
        Command::Imports { rejections, limit } => imports(&cli.db, rejections, limit),
        Command::Profiles => profiles(&config),
        Command::Profile { action } => profile_cmd(&config, action),
        Command::Sync {
            names,
            full,
            dry_run,
        } => sync_cmd(&cli.db, &config, &names, SyncOptions { full, dry_run }),
        Command::Connectors => connectors(&config),
        Command::Kpis { at, scope, format } => kpis(&cli.db, &config, at, scope.scope(), format),
        Command::Schedules { action } => schedules(&cli.db, &config, action),
        Command::HashPassword => {
            let mut line = String::new();
            if std::io::stdin().is_terminal() {
                eprint!("password (shown as you type; pipe it in to hide it): ");
            }
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("no password on standard input");
            }
            let hash = gemba::web::auth::hash_password(password).map_err(anyhow::Error::msg)?;
            println!("{hash}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Pull {
            date,
            scope,
            technicians,
            format,
        } => pull(&cli.db, &config, date, scope.scope(), &technicians, format),
        Command::Trend {
            metric,
            from,
            to,
            every,
            window_days,
            scope,
            format,
        } => {
            let engine = Engine::load(&mut open(&cli.db)?, &config)?;
            let step: Step = every.parse()?;
            let t = engine.trend(&metric, from, to, step, window_days, &scope.scope())?;
            match format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&report::trend_json(&t))?)
                }
                Format::Csv => print!("{}", report::trend_csv(&t)),
                Format::Table => print!("{}", report::trend_table(&t)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            addr,
            demo,
            no_jobs,
        } => {
            let mut store = open(&cli.db)?;
            if demo && store.order_count()? == 0 {
                let p = DemoParams::year_to_today(42, 30.0, 365, config.plant.tz);
                let n = demo::load_into(&mut store, &config, p)?;
                println!("loaded the demo plant: {n} orders");
            }
            drop(store);
            let state = gemba::web::AppState::open(&cli.db, config)
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(gemba::web::serve(addr, state, !no_jobs))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Store { action } => store_cmd(&cli.db, action),
        Command::Snapshot => {
            let mut store = open(&cli.db)?;
            let n = snapshot(&mut store, &config)?;
            println!("stored today's metrics for {n} scopes");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open(db: &str) -> Result<Store> {
    Store::open(db).with_context(|| format!("opening the store {}", store::redact(db)))
}

fn store_cmd(db: &str, action: StoreAction) -> Result<ExitCode> {
    match action {
        StoreAction::Copy { from, to, force } => {
            let from = from.as_deref().unwrap_or(db);
            let (shown_from, shown_to) = (store::redact(from), store::redact(&to));
            if shown_from == shown_to {
                bail!("--from and --to are the same store ({shown_from})");
            }
            let mut source = open(from)?;
            let mut target = open(&to)?;
            let started = std::time::Instant::now();
            let report = store::copy(&mut source, &mut target, force, &mut |table, n| {
                println!("{table:>16}  {n:>10} rows");
            })
            .with_context(|| format!("copying {shown_from} to {shown_to}"))?;
            let rows: u64 = report.tables.iter().map(|t| t.1).sum();
            println!(
                "copied {rows} rows in {} tables from {shown_from} to {shown_to} in {:.1} s; every table's count was checked in the target before it committed",
                report.tables.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        StoreAction::Backup { file, force } => {
            if file.exists() {
                if !force {
                    bail!(
                        "{} exists: choose a new file, or add --force to replace it",
                        file.display()
                    );
                }
                std::fs::remove_file(&file)
                    .with_context(|| format!("removing the old {}", file.display()))?;
            }
            let mut source = open(db)?;
            let started = std::time::Instant::now();
            // Written beside the target and renamed at the end: a backup cut short is never
            // mistaken for a whole one.
            let partial = file.with_extension("partial");
            let _ = std::fs::remove_file(&partial);
            source.backup(&partial).with_context(|| {
                format!("backing up {} to {}", source.describe(), file.display())
            })?;
            std::fs::rename(&partial, &file)
                .with_context(|| format!("moving the backup to {}", file.display()))?;
            let orders = open(&format!("sqlite:{}", file.display()))?.order_count()?;
            println!(
                "backed up {} to {} ({orders} orders) in {:.1} s; open it with --db sqlite:{}",
                source.describe(),
                file.display(),
                started.elapsed().as_secs_f64(),
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn import(db: &str, config: &Config, args: ImportArgs) -> Result<ExitCode> {
    let mapping = Mapping::find(&args.profile, config.dir.as_deref(), config.plant.tz)?;
    let mut store = open(db)?;
    let fail_after_rows = match std::env::var("GEMBA_FAIL_AFTER_ROWS") {
        Ok(v) => Some(
            v.parse()
                .context("GEMBA_FAIL_AFTER_ROWS must be a number")?,
        ),
        Err(_) => None,
    };
    let opts = ImportOptions {
        source: args.source,
        strict: args.strict,
        progress: true,
        fail_after_rows,
        gather: (!args.dry_run).then(|| config.clone()),
        chunk_rows: None,
        sheet: args.sheet,
        dry_run: args.dry_run,
    };
    let mut failed = 0;
    let mut gathered = Vec::new();
    for file in &args.files {
        match import_file(&mut store, file, &mapping, &opts) {
            Ok(mut r) => {
                gathered.extend(r.gathered.take());
                print!("{}", report::import_summary(&r, &mapping.name));
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if args.dry_run {
        return Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if failed < args.files.len() {
        // Today's metrics per scope, so the ready backlog of today has a history tomorrow.
        let started = std::time::Instant::now();
        // The store copies the import from its write-ahead log into the database file (on a
        // connection of its own) while the metrics are computed.
        let checkpoint = (store.database() == gemba::store::Database::Sqlite).then(|| {
            std::thread::spawn({
                let db = db.to_string();
                move || Store::open(&db).and_then(|mut s| s.checkpoint())
            })
        });
        let frame = if gathered.len() == args.files.len() - failed {
            frame::frame_after_imports(&mut store, config, gathered)
        } else {
            frame::load_frame(&mut store, config)
        };
        let n = frame
            .and_then(|frame| Engine::from_frame(frame, config).write_snapshots(&mut store))
            .context("the import is stored, but today's snapshot failed")?;
        if let Some(Err(e)) = checkpoint.map(|c| c.join().expect("the checkpoint does not panic")) {
            // Nothing is lost: SQLite copies the log at a later write.
            eprintln!(
                "warning: the import is stored; copying it from the write-ahead log into the database file failed: {e}"
            );
        }
        println!(
            "stored today's metrics for {n} scopes in {:.2} s",
            started.elapsed().as_secs_f64()
        );
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} file(s) failed; the store holds what it held before each of them",
            args.files.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn demo_cmd(db: &str, config: &Config, args: DemoArgs) -> Result<ExitCode> {
    if !(args.orders_per_day.is_finite() && args.orders_per_day > 0.0) {
        bail!("--orders-per-day must be a number > 0");
    }
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let tz = config.plant.tz;
    let mut p = DemoParams::year_to_today(args.seed, args.orders_per_day, args.days, tz);
    if let Some(until) = args.until {
        p.until = until;
    }
    if let Some(n) = args.orders {
        p.orders = n;
    }
    if let Some(path) = args.csv {
        let n = if path.as_os_str() == "-" {
            demo::write_csv(std::io::stdout().lock(), demo::orders(p), tz)?
        } else {
            let f = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            demo::write_csv(
                std::io::BufWriter::with_capacity(1 << 20, f),
                demo::orders(p),
                tz,
            )
            .with_context(|| format!("writing {}", path.display()))?
        };
        if path.as_os_str() != "-" {
            println!(
                "wrote {n} demo orders to {} (import with: gemba import {} --profile generic)",
                path.display(),
                path.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut store = open(db)?;
    let total_days = p.total_days();
    let n = demo::load_into(&mut store, config, p)?;
    println!(
        "demo plant `{}`: {} orders over {} days (history of {} days and a lead-in) in {}; its crews are those of config/gemba.toml",
        config.plant.name,
        n,
        total_days,
        args.days,
        store.describe()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes today's snapshots from a fresh load of the store.
fn snapshot(store: &mut Store, config: &Config) -> Result<usize> {
    let engine = Engine::load(store, config)?;
    Ok(engine.write_snapshots(store)?)
}

fn kpis(db: &str, config: &Config, at: AsOf, scope: Scope, format: Format) -> Result<ExitCode> {
    let mut store = open(db)?;
    if store.order_count()? == 0 {
        eprintln!(
            "the store {} holds no orders yet: run `gemba demo`, or `gemba import FILE --profile NAME`",
            store.describe()
        );
    }
    let engine = Engine::load(&mut store, config)?;
    let k = engine.kpis(at.as_of, at.window_days, &scope)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&k)?),
        Format::Csv => print!("{}", report::kpis_csv(&k)),
        Format::Table => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            print!("{}", report::kpis_table(&k, config, colour));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn pull(
    db: &str,
    config: &Config,
    date: Option<NaiveDate>,
    scope: Scope,
    technicians: &[String],
    format: Format,
) -> Result<ExitCode> {
    let mut req = PullRequest {
        date,
        scope,
        ..PullRequest::default()
    };
    for t in technicians {
        let Some((crew, n)) = t.rsplit_once('=') else {
            bail!("--technicians `{t}`: write CREW=N, e.g. --technicians \"Process Mechanical=5\"");
        };
        let n: f64 = n
            .trim()
            .parse()
            .with_context(|| format!("--technicians `{t}`: `{n}` is not a number"))?;
        req.technicians.insert(crew.trim().to_string(), n);
    }
    let mut store = open(db)?;
    if store.order_count()? == 0 {
        eprintln!(
            "the store {} holds no orders yet: run `gemba demo`, or `gemba import FILE --profile NAME`",
            store.describe()
        );
    }
    let plan = Engine::load(&mut store, config)?.pull(&req)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        Format::Csv => print!("{}", report::pull_csv(&plan)),
        Format::Table => print!("{}", report::pull_table(&plan, config)),
    }
    Ok(ExitCode::SUCCESS)
}

fn schedules(db: &str, config: &Config, action: Option<SchedulesAction>) -> Result<ExitCode> {
    use gemba::schedule::{self, Trigger};
    let mut store = open(db)?;
    if let Some(SchedulesAction::Run { name }) = action {
        let job = schedule::job(config, &name)?;
        let run = schedule::run_job(&mut store, config, job, Trigger::Hand)?;
        println!(
            "job {}: {} file(s) imported, {} failed, {} skipped as duplicates; rows read {}, upserted {}, rejected {}",
            run.job,
            run.files_imported,
            run.files_failed,
            run.files_skipped,
            run.counts.read,
            run.counts.upserted,
            run.counts.rejected
        );
        if run.files_imported > 0 {
            snapshot(&mut store, config)?;
        }
        return Ok(match run.error {
            Some(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
            None => ExitCode::SUCCESS,
        });
    }
    if config.schedules.is_empty() {
        println!(
            "no [[schedules]] in {}: see docs/schedules.md",
            config.origin
        );
        return Ok(ExitCode::SUCCESS);
    }
    let tz = config.plant.tz;
    let now = chrono::Utc::now();
    for job in &config.schedules {
        let what = match (&job.import, &job.sync) {
            (Some(i), _) => format!("import {} (profile {})", i.path, i.profile),
            (None, Some(c)) => format!("sync {c}"),
            (None, None) => String::new(),
        };
        println!("{}  cron `{}`  {what}", job.name, job.cron);
        let next: Vec<String> = schedule::next_runs(config, job, now, 3)
            .iter()
            .map(|t| {
                t.with_timezone(&tz)
                    .format("%a %Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .collect();
        println!("  next: {}", next.join(", "));
        match store.job_runs(Some(&job.name), 1)?.first() {
            Some(r) => println!(
                "  last: {} ({}), {}: {} imported, {} failed, {} skipped{}",
                r.started_at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
                r.trigger,
                r.outcome,
                r.files_imported,
                r.files_failed,
                r.files_skipped,
                r.error
                    .as_ref()
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default()
            ),
            None => println!("  last: never run"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn imports(db: &str, rejections: Option<i64>, limit: usize) -> Result<ExitCode> {
    let mut store = open(db)?;
    if let Some(run) = rejections {
        let rows = store.rejections(run)?;
        if rows.is_empty() {
            println!("run {run} has no rejected rows");
        }
        println!("{:>7}  {:<18} {:<24} reason", "line", "field", "value");
        for r in rows {
            println!(
                "{:>7}  {:<18} {:<24} {}",
                r.line,
                r.field,
                format!("`{}`", r.value),
                r.reason
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let runs = store.runs(limit)?;
    if runs.is_empty() {
        println!("no imports yet: try `gemba demo` or `gemba import FILE --profile generic`");
        return Ok(ExitCode::SUCCESS);
    }
    let colour = std::io::stdout().is_terminal();
    println!(
        "{:>5}  {:<19}  {:<5} {:<12} {:>9} {:>9} {:>8}  {:<9} file / error",
        "run", "started (UTC)", "kind", "source", "read", "upserted", "rejected", "outcome"
    );
    for r in runs {
        let outcome = match (r.outcome.as_str(), colour) {
            ("failed", true) => "\x1b[31mfailed\x1b[0m   ".to_string(),
            (o, _) => format!("{o:<9}"),
        };
        println!(
            "{:>5}  {:<19}  {:<5} {:<12} {:>9} {:>9} {:>8}  {} {}",
            r.id,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.kind,
            r.source,
            r.counts.read,
            r.counts.upserted,
            r.counts.rejected,
            outcome,
            r.error.or(r.file).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn sync_cmd(db: &str, config: &Config, names: &[String], opts: SyncOptions) -> Result<ExitCode> {
    let connectors = if names.is_empty() {
        let all = Connector::all(config)?;
        if all.is_empty() {
            bail!(
                "{} configures no connectors: add a [connectors.NAME] table (docs/connectors.md; `gemba connectors` lists the manifests)",
                config.origin
            );
        }
        all
    } else {
        names
            .iter()
            .map(|n| Connector::from_config(config, n))
            .collect::<Result<_, _>>()?
    };
    let mut store = open(db)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tty = std::io::stderr().is_terminal();
    let mut failed = 0;
    let mut upserted = 0;
    for c in &connectors {
        let name = c.name.clone();
        let mut line = |p: &Progress| {
            let text = progress_text(&name, p, opts.dry_run);
            if tty {
                eprint!("\r\x1b[2K{text}");
            } else {
                eprintln!("{text}");
            }
        };
        let result = rt.block_on(gemba::sync::sync(&mut store, c, opts, &mut line));
        if tty {
            eprint!("\r\x1b[2K");
        }
        match result {
            Ok(r) => {
                upserted += r.progress.counts.upserted;
                let since = match r.since {
                    Some(t) => format!(
                        "changes since {}",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                    None => "everything".to_string(),
                };
                println!(
                    "{}{}: {since}: {} in {:.1} s{}",
                    if opts.dry_run { "dry run: " } else { "" },
                    r.connector,
                    progress_text_counts(&r.progress, opts.dry_run),
                    r.seconds,
                    r.run_id
                        .map(|id| format!(" (run {id})"))
                        .unwrap_or_default()
                );
                for rej in &r.first_rejections {
                    println!(
                        "  {}: {} = `{}`: {}",
                        r.connector, rej.field, rej.value, rej.reason
                    );
                }
                if opts.dry_run {
                    for o in r.dry_orders.iter().take(10) {
                        println!(
                            "  {} {} [{} {} P{}] {}",
                            o.source,
                            o.id,
                            o.kind,
                            o.status,
                            o.priority.get(),
                            o.title
                        );
                    }
                } else if let Some(w) = r.watermark {
                    println!(
                        "  next sync asks for changes since {}",
                        w.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if upserted > 0 && !opts.dry_run {
        let n = snapshot(&mut store, config)
            .context("the sync is stored, but today's snapshot failed")?;
        println!("stored today's metrics for {n} scopes");
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} connector(s) failed; pages committed before a failure are kept, and the next sync resumes from the watermark",
            connectors.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_text_counts(p: &Progress, dry_run: bool) -> String {
    let c = p.counts;
    let mut s = format!(
        "{} page(s), {} order(s) {}, {} rejected",
        p.pages,
        c.upserted,
        if dry_run {
            "mapped, none written"
        } else {
            "upserted"
        },
        c.rejected
    );
    if p.skipped > 0 {
        s.push_str(&format!(", {} skipped", p.skipped));
    }
    if p.stats.rate_waits > 0 || p.stats.retries > 0 {
        s.push_str(&format!(
            ", {} rate-limit wait(s), {} retr{}, {:.1} s waited",
            p.stats.rate_waits,
            p.stats.retries,
            if p.stats.retries == 1 { "y" } else { "ies" },
            p.stats.waited.as_secs_f64()
        ));
    }
    s
}

fn progress_text(name: &str, p: &Progress, dry_run: bool) -> String {
    format!("{name}: {}", progress_text_counts(p, dry_run))
}

fn connectors(config: &Config) -> Result<ExitCode> {
    println!("Manifests:");
    let mut names: Vec<String> = BUILTIN_MANIFESTS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let user = user_manifests(config.dir.as_deref());
    for u in &user {
        if !names.contains(u) {
            names.push(u.clone());
        }
    }
    for name in &names {
        let m = Manifest::find(name, config.dir.as_deref(), config.plant.tz)?;
        let origin = if user.contains(name) {
            format!(" [{}]", m.origin)
        } else {
            String::new()
        };
        println!("  {name:<10} {}{origin}", m.description);
        println!("  {:<10} env: {}", "", m.env_vars().join(", "));
        let required: Vec<&String> = m
            .vars
            .iter()
            .filter(|(_, v)| v.default.is_none())
            .map(|(k, _)| k)
            .collect();
        if !required.is_empty() {
            println!(
                "  {:<10} vars: {}",
                "",
                required
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    println!();
    if config.connectors.is_empty() {
        println!(
            "No connectors configured in {}: add a [connectors.NAME] table with `url` (docs/connectors.md).",
            config.origin
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("Configured in {}:", config.origin);
    let mut bad = 0;
    for name in config.connectors.keys() {
        match Connector::from_config(config, name) {
            Ok(c) => {
                let env = c.manifest.env_vars();
                let unset: Vec<&String> = env
                    .iter()
                    .filter(|v| std::env::var(v).map_or(true, |x| x.is_empty()))
                    .collect();
                println!(
                    "  {name:<10} {} at {} -> source `{}`; env {}",
                    c.manifest.name,
                    c.url,
                    c.source,
                    if unset.is_empty() {
                        "all set".to_string()
                    } else {
                        format!(
                            "NOT SET: {}",
                            unset
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
            }
            Err(e) => {
                bad += 1;
                println!("  {name:<10} error: {e}");
            }
        }
    }
    Ok(if bad > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `gemba profile new`: a profile drafted from an export, written for the user to check.
fn profile_cmd(config: &Config, action: ProfileAction) -> Result<ExitCode> {
    let ProfileAction::New {
        file,
        name,
        sheet,
        out,
        force,
    } = action;
    let name = match name {
        Some(n) => n,
        None => {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let slug: String = stem
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let slug = slug.trim_matches('-').to_string();
            if slug.is_empty() {
                "export".into()
            } else {
                slug
            }
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("--name `{name}`: use letters, digits, `-` and `_` (it names the file NAME.toml)");
    }
    let sample = gemba::import::sample(&file, sheet.as_deref(), gemba::import::SAMPLE_ROWS)?;
    let drafted = gemba::mapping::draft::draft(&sample, &name);
    if out.as_deref() == Some(std::path::Path::new("-")) {
        print!("{}", drafted.text);
        return Ok(ExitCode::SUCCESS);
    }
    // `--profile NAME` finds <config dir>/csv/NAME.toml; elsewhere the path names it.
    let by_name = out.is_none() && config.dir.is_some();
    let path = out.unwrap_or_else(|| {
        config
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("config"))
            .join("csv")
            .join(format!("{name}.toml"))
    });
    if path.exists() && !force {
        bail!(
            "{} exists; pass --force to replace it, or --name another",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, &drafted.text).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {} from {} ({} columns, {} sample rows)",
        path.display(),
        sample.origin,
        sample.header.len(),
        sample.rows.len()
    );
    for (field, column) in &drafted.matched {
        println!("  {field:<18} <- {column}");
    }
    let profile = if by_name {
        name.clone()
    } else {
        path.display().to_string()
    };
    if drafted.to_fill.is_empty() {
        println!(
            "next: gemba import {} --profile {profile} --dry-run",
            file.display()
        );
    } else {
        println!("fill in, marked FILL IN in the file:");
        for f in &drafted.to_fill {
            println!("  {f}");
        }
        println!(
            "then: gemba import {} --profile {profile} --dry-run",
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn profiles(config: &Config) -> Result<ExitCode> {
    for (name, _) in BUILTIN_PROFILES {
        let m = Mapping::find(name, config.dir.as_deref(), config.plant.tz)?;
        println!("{name:<10} {}", m.description);
    }
    let user_dir = config.dir.as_ref().map(|d| d.join("csv"));
    if let Some(rd) = user_dir.and_then(|dir| std::fs::read_dir(dir).ok()) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                match Mapping::from_file(&p, config.plant.tz) {
                    Ok(m) => println!("{:<10} {} ({})", m.name, m.description, p.display()),
                    Err(e) => println!("{:<10} not usable yet: {e}", "(invalid)"),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
