// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! A regtest chain kept in a directory, mined by the nodes themselves.
//!
//! With no `bitcoind`, the nodes need a chain they all agree on. [`FileChain`] is one: blocks
//! are files `blocks/<height>` holding consensus-encoded [`Block`]s on top of the regtest genesis
//! block, and broadcast transactions wait in `mempool/` until a node mines a block. Every node
//! given the same directory sees the same chain, whether the nodes share a process (the
//! integration test) or not (three `example-node` processes run by hand).
//!
//! A block is published by hard-linking a fully written temporary file to its final name, which
//! fails if another miner published that height first: two miners never both extend the same
//! height, and a reader never sees half a block. So the chain never reorganizes.
//!
//! This is not a validating chain: it confirms every transaction it is given (once), checks no
//! signature or input, and does not enforce coinbase maturity. It is enough for LDK, which only
//! needs to see its transactions confirmed, and it is no substitute for a Bitcoin node.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lightning::bitcoin::absolute::LockTime;
use lightning::bitcoin::block::{Header, Version as BlockVersion};
use lightning::bitcoin::blockdata::constants::genesis_block;
use lightning::bitcoin::consensus::encode::{deserialize, serialize};
use lightning::bitcoin::hash_types::TxMerkleNode;
use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::script::Builder;
use lightning::bitcoin::transaction::Version;
use lightning::bitcoin::{
	Amount, Block, BlockHash, CompactTarget, Network, OutPoint, ScriptBuf, Sequence, Transaction,
	TxIn, TxOut, Txid, Witness,
};
use lightning::chain::chaininterface::{BroadcasterInterface, TransactionType};

/// The reward of every block we mine: regtest's initial subsidy (no halving here).
const BLOCK_REWARD: Amount = Amount::from_sat(50 * 100_000_000);

/// Distinguishes the temporary files of concurrent writers in one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A regtest chain stored in a directory, shared by every node given that directory.
///
/// Also the nodes' [`BroadcasterInterface`]: a broadcast transaction goes to the mempool and is
/// confirmed by the next block anyone mines.
pub struct FileChain {
	dir: PathBuf,
}

impl FileChain {
	/// Opens the chain in `dir`, creating it (with only the genesis block) if it is new.
	pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
		let dir = dir.as_ref().to_path_buf();
		for sub in ["blocks", "mempool", "confirmed", "tmp"] {
			fs::create_dir_all(dir.join(sub))?;
		}
		Ok(Self { dir })
	}

	/// The network whose genesis block the chain starts from.
	pub fn network(&self) -> Network {
		Network::Regtest
	}

	fn block_path(&self, height: u32) -> PathBuf {
		self.dir.join("blocks").join(format!("{height:08}"))
	}

	/// The block at `height`, if the chain is that long. Height 0 is the regtest genesis block.
	pub fn block_at(&self, height: u32) -> io::Result<Option<Block>> {
		if height == 0 {
			return Ok(Some(genesis_block(self.network())));
		}
		match fs::read(self.block_path(height)) {
			Ok(bytes) => deserialize(&bytes)
				.map(Some)
				.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
			Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e),
		}
	}

	/// The height of the chain's tip.
	pub fn tip_height(&self) -> io::Result<u32> {
		// Heights are contiguous: count up from a lower bound given by the number of files.
		let mut height = fs::read_dir(self.dir.join("blocks"))?.count() as u32;
		while height > 0 && !self.block_path(height).exists() {
			height -= 1;
		}
		while self.block_path(height + 1).exists() {
			height += 1;
		}
		Ok(height)
	}

	/// The hash of the block at `height`, if the chain is that long.
	pub fn block_hash_at(&self, height: u32) -> io::Result<Option<BlockHash>> {
		Ok(self.block_at(height)?.map(|block| block.block_hash()))
	}

	/// Adds `tx` to the mempool, unless it is already confirmed.
	pub fn submit(&self, tx: &Transaction) -> io::Result<()> {
		let txid = tx.compute_txid();
		if self.dir.join("confirmed").join(txid.to_string()).exists() {
			return Ok(());
		}
		self.write_atomically(&self.dir.join("mempool").join(txid.to_string()), &serialize(tx))
	}

	/// Whether `txid` is confirmed.
	pub fn is_confirmed(&self, txid: &Txid) -> bool {
		self.dir.join("confirmed").join(txid.to_string()).exists()
	}

	/// Mines `count` blocks on the tip, the first with every mempool transaction, each paying its
	/// reward to `reward_script`. Returns the height of the new tip.
	pub fn mine(&self, count: u32, reward_script: &ScriptBuf) -> io::Result<u32> {
		let mut height = self.tip_height()?;
		let mut mined = 0;
		while mined < count {
			let prev = self
				.block_at(height)?
				.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "missing block"))?;
			let (mempool_files, txs) = self.mempool()?;
			let block = build_block(&prev, height + 1, reward_script, txs);
			let tmp = self.tmp_path();
			fs::write(&tmp, serialize(&block))?;
			// Publishing fails if another miner took the height first: build on its block then.
			let published = fs::hard_link(&tmp, self.block_path(height + 1));
			fs::remove_file(&tmp)?;
			match published {
				Ok(()) => {
					for tx in &block.txdata[1..] {
						let marker = self.dir.join("confirmed").join(tx.compute_txid().to_string());
						fs::write(marker, [])?;
					}
					for file in mempool_files {
						// Another miner may have removed it already.
						let _ = fs::remove_file(file);
					}
					mined += 1;
				},
				Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {},
				Err(e) => return Err(e),
			}
			height = self.tip_height()?;
		}
		Ok(height)
	}

	/// The mempool's transactions not yet confirmed, with their files, in a stable order.
	fn mempool(&self) -> io::Result<(Vec<PathBuf>, Vec<Transaction>)> {
		let mut entries: Vec<PathBuf> = fs::read_dir(self.dir.join("mempool"))?
			.map(|entry| entry.map(|e| e.path()))
			.collect::<io::Result<_>>()?;
		entries.sort();
		let mut txs = Vec::new();
		for path in &entries {
			let bytes = match fs::read(path) {
				Ok(bytes) => bytes,
				// Mined and removed by another node meanwhile.
				Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
				Err(e) => return Err(e),
			};
			let tx: Transaction = match deserialize(&bytes) {
				Ok(tx) => tx,
				Err(_) => continue,
			};
			if !self.is_confirmed(&tx.compute_txid()) {
				txs.push(tx);
			}
		}
		Ok((entries, txs))
	}

	fn tmp_path(&self) -> PathBuf {
		let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
		self.dir.join("tmp").join(format!("{}-{n}", std::process::id()))
	}

	fn write_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
		let tmp = self.tmp_path();
		fs::write(&tmp, bytes)?;
		fs::rename(&tmp, path)
	}
}

impl BroadcasterInterface for FileChain {
	fn broadcast_transactions(&self, txs: &[(&Transaction, TransactionType)]) {
		for (tx, _) in txs {
			if let Err(e) = self.submit(tx) {
				eprintln!("Failed to add transaction {} to the mempool: {e}", tx.compute_txid());
			}
		}
	}
}

/// Builds the block at `height` on `prev`: a coinbase paying `reward_script`, then `txs`.
fn build_block(
	prev: &Block, height: u32, reward_script: &ScriptBuf, txs: Vec<Transaction>,
) -> Block {
	let coinbase = Transaction {
		version: Version::TWO,
		lock_time: LockTime::ZERO,
		input: vec![TxIn {
			previous_output: OutPoint::null(),
			// BIP 34: the height makes every coinbase, and so every block, unique.
			script_sig: Builder::new().push_int(height as i64).push_int(0).into_script(),
			sequence: Sequence::MAX,
			witness: Witness::new(),
		}],
		output: vec![TxOut { value: BLOCK_REWARD, script_pubkey: reward_script.clone() }],
	};
	let mut txdata = vec![coinbase];
	txdata.extend(txs);
	let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as u32;
	let mut block = Block {
		header: Header {
			version: BlockVersion::TWO,
			prev_blockhash: prev.block_hash(),
			merkle_root: TxMerkleNode::all_zeros(),
			// Never before the previous block, even if the clock goes back.
			time: now.max(prev.header.time + 1),
			// Regtest's minimum difficulty: a valid proof of work takes two tries on average.
			bits: CompactTarget::from_consensus(0x207f_ffff),
			nonce: 0,
		},
		txdata,
	};
	block.header.merkle_root = block.compute_merkle_root().expect("the block has a coinbase");
	while block.header.validate_pow(block.header.target()).is_err() {
		block.header.nonce += 1;
	}
	block
}
