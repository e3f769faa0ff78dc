// Reading the contracts: the deployment from the gateway (/deployment.json: ape's ABIs
// and the recorded addresses), reads through the gateway's read-only /rpc, and the
// events the registry, attestations, proofs and market emit.
import {
  createPublicClient,
  http,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { cidString } from "./cid";

export interface Deployment {
  chainId: number;
  genesis: Hex;
  block: number;
  params: Record<string, string>;
  contracts: Record<string, { address: Address; abi: Abi }>;
}

export interface Dataset {
  id: bigint;
  owner: Address;
  registrant: Address;
  contentCid: string;
  metadataCid: string;
  rowRoot: Hex;
  rowCount: bigint;
  private: boolean;
  license: string;
  parents: bigint[];
  versionOf: bigint;
}

export interface Chain {
  deployment: Deployment;
  client: PublicClient;
  contract(name: string): { address: Address; abi: Abi };
  events(name: string, eventName: string, args?: Record<string, unknown>): Promise<any[]>;
  read(name: string, functionName: string, args?: unknown[]): Promise<any>;
}

export async function loadChain(base = ""): Promise<Chain> {
  const answer = await fetch(`${base}/deployment.json`);
  if (!answer.ok) throw new Error((await answer.text()).trim());
  const deployment = (await answer.json()) as Deployment;
  const client = createPublicClient({ transport: http(new URL(`${base}/rpc`, location.href).href) });
  const contract = (name: string) => {
    const found = deployment.contracts[name];
    if (!found) throw new Error(`The deployment has no ${name} contract: run \`ape run deploy\`.`);
    return found;
  };
  return {
    deployment,
    client,
    contract,
    events: (name, eventName, args) =>
      client.getContractEvents({
        ...contract(name),
        eventName,
        args,
        fromBlock: BigInt(deployment.block),
        toBlock: "latest",
      } as never),
    read: (name, functionName, args = []) =>
      client.readContract({ ...contract(name), functionName, args } as never),
  };
}

/** Every dataset from DatasetRegistered, with the current owner from storage. */
export async function datasets(chain: Chain): Promise<Dataset[]> {
  const logs = await chain.events("DatasetRegistry", "DatasetRegistered");
  const out: Dataset[] = [];
  for (const log of logs) {
    const a = log.args;
    const owner = (await chain.read("DatasetRegistry", "owner_of", [a.dataset_id])) as Address;
    out.push({
      id: a.dataset_id,
      owner,
      registrant: a.owner,
      contentCid: cidString(a.content_cid.prefix, a.content_cid.digest),
      metadataCid: cidString(a.metadata_cid.prefix, a.metadata_cid.digest),
      rowRoot: a.row_root,
      rowCount: a.row_count,
      private: a.private,
      license: a.license,
      parents: [...a.parents],
      versionOf: a.version_of,
    });
  }
  return out;
}

/** Distinct ancestors breadth-first from the parents (the order royalties use). */
export function ancestors(all: Map<bigint, Dataset>, id: bigint): bigint[] {
  const seen: bigint[] = [];
  const queue = [...(all.get(id)?.parents ?? [])];
  while (queue.length) {
    const current = queue.shift()!;
    if (seen.includes(current)) continue;
    seen.push(current);
    queue.push(...(all.get(current)?.parents ?? []));
  }
  return seen;
}

/** Layers of ancestors (1 = parents) or descendants (1 = children) by distance. */
export function layers(all: Map<bigint, Dataset>, id: bigint, up: boolean): bigint[][] {
  const next = (d: bigint) =>
    up ? all.get(d)?.parents ?? [] : [...all.values()].filter((x) => x.parents.includes(d)).map((x) => x.id);
  const out: bigint[][] = [];
  const seen = new Set<bigint>([id]);
  let frontier = [id];
  while (frontier.length) {
    const layer: bigint[] = [];
    for (const d of frontier) for (const n of next(d)) if (!seen.has(n)) { seen.add(n); layer.push(n); }
    if (layer.length) out.push(layer.sort((a, b) => (a < b ? -1 : 1)));
    frontier = layer;
  }
  return out;
}
