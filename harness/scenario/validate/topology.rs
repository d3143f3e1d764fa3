//! The network: regions and their latency table, the ordering service, the organizations and the
//! channel.

use super::*;

impl Checker<'_> {
    /// The topology, and the region names as written (for checking references to them even
    /// when the regions themselves have problems).
    pub(super) fn topology(
        &mut self,
        file: TopologyFile,
        scenario_dir: Option<&Path>,
    ) -> (Option<Topology>, Vec<String>) {
        let regions = self.regions(&file.regions);
        let latency = self.latency(&file.latency, scenario_dir);
        if let (Some(_), Some(table)) = (&regions, &latency) {
            self.region_locations(&file.regions.value, table);
        }
        let intra_region_rtt = match &file.intra_region_rtt {
            Some(rtt) => self.round_trip(rtt, "`intra_region_rtt`"),
            None => Some(DEFAULT_INTRA_REGION_RTT),
        };
        let names: Vec<String> = file
            .regions
            .value
            .iter()
            .map(|r| r.name.value.clone())
            .collect();
        let ordering = self.ordering_service(&file.ordering_service.value, &names);
        let fabric = self.channel_fabric(file.fabric.as_ref(), &file.ordering_service.value);
        let organizations = self.organizations(
            &file.organizations,
            &names,
            ordering.as_ref(),
            fabric.as_ref(),
        );
        let org_msp_ids: Vec<String> = file
            .organizations
            .value
            .iter()
            .map(|o| o.value.msp_id.value.clone())
            .collect();
        let channel = self.channel(file.channel, &org_msp_ids);
        let topology = (|| {
            Some(Topology {
                latency: latency?.matrix,
                intra_region_rtt: intra_region_rtt?,
                regions: regions?,
                ordering_service: ordering?,
                organizations: organizations?,
                channel: channel?,
                fabric: fabric?,
            })
        })();
        (topology, names)
    }

    pub(super) fn regions(&mut self, regions: &Spanned<Vec<RegionFile>>) -> Option<Vec<Region>> {
        let count = regions.value.len();
        if count == 0 {
            self.error(
                &regions.referenced,
                "the scenario has no region",
                format!("between 1 and {MAX_REGIONS} regions, each `{{name, location}}`"),
                "add `- {name: us-east, location: eastus}`",
            );
            return None;
        }
        if count > MAX_REGIONS {
            self.error(
                &regions.referenced,
                format!("the scenario has {count} regions; the simulator supports at most {MAX_REGIONS}"),
                format!("at most {MAX_REGIONS} regions"),
                "drop regions; the procedure itself uses three",
            );
        }
        let mut ok = count <= MAX_REGIONS;
        let mut seen_names = BTreeSet::new();
        let mut seen_locations = BTreeSet::new();
        for region in &regions.value {
            let name = &region.name;
            if !is_dns_label(&name.value) {
                self.error(
                    &name.referenced,
                    format!("region name `{}` is not a DNS label", name.value),
                    "lowercase letters, digits and `-`, starting with a letter (node names end with it, e.g. `peer0.org1.us-east`)",
                    "e.g. `us-east`",
                );
                ok = false;
            }
            if !seen_names.insert(name.value.clone()) {
                self.error(
                    &name.referenced,
                    format!("region `{}` is defined twice", name.value),
                    "each region name once",
                    "rename or remove one of them",
                );
                ok = false;
            }
            if !seen_locations.insert(region.location.value.clone()) {
                self.error(
                    &region.location.referenced,
                    format!("location `{}` is used by two regions", region.location.value),
                    "a different location for each region (its round trips to the others come from the latency table)",
                    "pick another location of the latency table",
                );
                ok = false;
            }
        }
        ok.then(|| {
            regions
                .value
                .iter()
                .map(|r| Region {
                    name: r.name.value.clone(),
                    location: r.location.value.clone(),
                })
                .collect()
        })
    }

    pub(super) fn latency(
        &mut self,
        spec: &Spanned<LatencySpec>,
        scenario_dir: Option<&Path>,
    ) -> Option<LoadedTable> {
        match &spec.value {
            LatencySpec::Inline(table) => {
                match latency::check_table(table, self.source, TableKind::Inline, "inline") {
                    Ok(loaded) => Some(loaded),
                    Err(problems) => {
                        self.problems.extend(problems);
                        None
                    }
                }
            }
            LatencySpec::Fixture(path) => {
                let fixture = match latency::find_fixture(path, scenario_dir) {
                    Some(Ok(fixture)) => Some(fixture),
                    // A file-level problem (not a regular file, not JSON) belongs to the
                    // scenario's `latency:` entry; one inside the fixture stays there.
                    Some(Err(error)) => {
                        for problem in error.diagnostics {
                            if problem.position.is_some() {
                                self.problems.push(problem);
                                continue;
                            }
                            self.error(
                                &spec.referenced,
                                format!("latency fixture `{path}`: {}", problem.message),
                                problem.expected,
                                problem.hint,
                            );
                        }
                        return None;
                    }
                    None => None,
                };
                let Some(fixture) = fixture else {
                    self.error(
                        &spec.referenced,
                        format!("latency fixture `{path}` not found"),
                        "a JSON latency table, relative to the scenario's directory or one of its parents, or an inline table with `rtt_ms`",
                        did_you_mean(
                            path,
                            latency::built_in_names(),
                            &format!(
                                "the built-in fixtures are {}",
                                one_of(latency::built_in_names())
                            ),
                        ),
                    );
                    return None;
                };
                match latency::parse_fixture(&fixture, path) {
                    Ok(loaded) => Some(loaded),
                    Err(error) => {
                        self.problems.extend(error.diagnostics);
                        None
                    }
                }
            }
        }
    }

    /// Every region's location is in the table, and every pair of them has a round trip.
    pub(super) fn region_locations(&mut self, written: &[RegionFile], table: &LoadedTable) {
        let known = || table.locations.keys().map(String::as_str);
        let mut present = Vec::new();
        for region in written {
            let location = &region.location;
            if table.locations.contains_key(&location.value) {
                present.push(region);
                continue;
            }
            self.error(
                &location.referenced,
                format!(
                    "location `{}` of region `{}` is not in the latency table `{}`",
                    location.value, region.name.value, table.matrix.source
                ),
                format!("a location of the table: {}", one_of(known())),
                did_you_mean(
                    &location.value,
                    known(),
                    "use a location the table has, or add it to the table",
                ),
            );
        }
        for (i, a) in present.iter().enumerate() {
            for b in &present[i + 1..] {
                if table
                    .matrix
                    .rtt(&a.location.value, &b.location.value)
                    .is_none()
                {
                    self.error(
                        &b.location.referenced,
                        format!(
                            "the latency table has no round trip between `{}` (region `{}`) and `{}` (region `{}`)",
                            a.location.value, a.name.value, b.location.value, b.name.value
                        ),
                        "a round-trip time for every pair of the scenario's locations",
                        format!("add `[{}, {}, <ms>]` to `rtt_ms`", a.location.value, b.location.value),
                    );
                }
            }
        }
    }

    pub(super) fn ordering_service(
        &mut self,
        service: &OrderingServiceFile,
        regions: &[String],
    ) -> Option<OrderingService> {
        let msp_id = match &service.msp_id {
            Some(msp) => {
                self.msp_id_is_valid(msp);
                msp.value.clone()
            }
            None => DEFAULT_ORDERER_MSP.to_string(),
        };
        if service.nodes.value.is_empty() {
            self.error(
                &service.nodes.referenced,
                "the ordering service has no node",
                "a list of regions, one ordering node in each entry (e.g. `[us-east]`)",
                "the procedure's ordering service is not multi-region: `[us-east]` mirrors it",
            );
            return None;
        }
        let mut ok = true;
        for node in &service.nodes.value {
            ok &= self.region_exists(node, regions, "`ordering_service.nodes`");
        }
        ok.then(|| OrderingService {
            msp_id,
            first_leader: service.first_leader.unwrap_or_default(),
            nodes: service
                .nodes
                .value
                .iter()
                .map(|n| n.value.clone())
                .collect(),
        })
    }

    pub(super) fn msp_id_is_valid(&mut self, msp_id: &Spanned<String>) -> bool {
        let valid = !msp_id.value.is_empty()
            && msp_id.value.len() <= MSP_ID_MAX_CHARS
            && msp_id
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            self.error(
                &msp_id.referenced,
                format!("MSP ID `{}` cannot name nodes", msp_id.value),
                format!("letters, digits and `-`, at most {MSP_ID_MAX_CHARS} characters (e.g. `Org1MSP`); node names, host names included, are built from it"),
                "e.g. `Org1MSP`",
            );
        }
        valid
    }

    pub(super) fn organizations(
        &mut self,
        file: &Spanned<Vec<Spanned<OrganizationFile>>>,
        regions: &[String],
        ordering: Option<&OrderingService>,
        channel_fabric: Option<&FabricConfig>,
    ) -> Option<Vec<Organization>> {
        if file.value.is_empty() {
            self.error(
                &file.referenced,
                "the scenario has no organization",
                "at least one `{msp_id, home, peers_per_region}`",
                "add `- {msp_id: Org1MSP, home: us-east, peers_per_region: 1}`",
            );
            return None;
        }
        let mut organizations = Vec::new();
        let mut peer_count = 0usize;
        let mut short_names = BTreeSet::new();
        let mut ok = true;
        for org in &file.value {
            let org = &org.value;
            let msp = &org.msp_id;
            ok &= self.msp_id_is_valid(msp);
            let short = crate::scenario::layout::org_short_name(&msp.value);
            if !short_names.insert(short.clone()) {
                self.error(
                    &msp.referenced,
                    format!("MSP ID `{}` gives node names (`{short}`) another organization already uses", msp.value),
                    "MSP IDs that differ once lowercased and stripped of `MSP`",
                    "e.g. `Org1MSP`, `Org2MSP`",
                );
                ok = false;
            }
            if let Some(service) = ordering {
                if service.msp_id == msp.value {
                    self.error(
                        &msp.referenced,
                        format!("`{}` is the ordering service's MSP ID", msp.value),
                        "a peer organization MSP ID different from `ordering_service.msp_id`",
                        "e.g. `Org1MSP`",
                    );
                    ok = false;
                }
            }
            let home_ok = self.region_exists(&org.home, regions, "`home`");
            ok &= home_ok;
            let peers_per_region = match &org.peers_per_region {
                None => 1,
                Some(n) => match u32::try_from(n.value)
                    .ok()
                    .filter(|count| (1..=MAX_NODES as u32).contains(count))
                {
                    Some(count) => count,
                    None => {
                        self.error(
                            &n.referenced,
                            format!("`peers_per_region` is {}", n.value),
                            format!("a count from 1 to {MAX_NODES} (the simulator's node limit)"),
                            "every region an organization spans runs at least one of its peers",
                        );
                        ok = false;
                        1
                    }
                },
            };
            let spans = match &org.regions {
                None => {
                    let mut all = vec![org.home.value.clone()];
                    all.extend(regions.iter().filter(|r| **r != org.home.value).cloned());
                    all
                }
                Some(list) => {
                    let mut seen = BTreeSet::new();
                    for region in &list.value {
                        ok &= self.region_exists(region, regions, "`organizations.regions`");
                        if !seen.insert(region.value.clone()) {
                            self.error(
                                &region.referenced,
                                format!("region `{}` is listed twice", region.value),
                                "each region once",
                                "remove the repeated entry",
                            );
                            ok = false;
                        }
                    }
                    if home_ok && !seen.contains(&org.home.value) {
                        self.error(
                            &list.referenced,
                            format!(
                                "`regions` of `{}` leaves out its home `{}`",
                                msp.value, org.home.value
                            ),
                            "a list that includes the home region",
                            format!(
                                "add `{}`, or remove `regions` to span every region",
                                org.home.value
                            ),
                        );
                        ok = false;
                    }
                    let mut ordered = vec![org.home.value.clone()];
                    ordered.extend(
                        list.value
                            .iter()
                            .map(|r| r.value.clone())
                            .filter(|r| *r != org.home.value),
                    );
                    ordered
                }
            };
            // Past the node limit (reported with the whole layout) peer names are not built:
            // a file may list thousands of organizations.
            peer_count = peer_count.saturating_add(spans.len() * peers_per_region as usize);
            if peer_count > MAX_NODES {
                organizations.push(Organization {
                    msp_id: msp.value.clone(),
                    home: org.home.value.clone(),
                    peers_per_region,
                    regions: spans,
                    fabric: Vec::new(),
                    peer_fabric: Default::default(),
                });
                continue;
            }
            let peers: Vec<String> = spans
                .iter()
                .flat_map(|region| {
                    (0..peers_per_region)
                        .map(move |i| crate::scenario::layout::peer_name(&msp.value, i, region))
                })
                .collect();
            let (fabric, peer_fabric) = match channel_fabric {
                Some(base) => match self.organization_fabric(base, org, &peers) {
                    Some(configs) => configs,
                    None => {
                        ok = false;
                        continue;
                    }
                },
                None => {
                    ok = false;
                    continue;
                }
            };
            organizations.push(Organization {
                msp_id: msp.value.clone(),
                home: org.home.value.clone(),
                peers_per_region,
                regions: spans,
                fabric,
                peer_fabric,
            });
        }
        ok.then_some(organizations)
    }

    pub(super) fn channel(
        &mut self,
        file: Option<ChannelFile>,
        org_msp_ids: &[String],
    ) -> Option<Channel> {
        let Some(file) = file else {
            return Some(Channel {
                name: DEFAULT_CHANNEL.to_string(),
                chaincode: Chaincode {
                    name: DEFAULT_CHAINCODE.to_string(),
                    version: DEFAULT_CHAINCODE_VERSION.to_string(),
                    endorsement_policy: EndorsementPolicy::default(),
                },
            });
        };
        // Fabric's rule for channel names (hyperledger/fabric common/configtx/validator.go,
        // channelAllowedChars and maxLength).
        let name = &file.name.value;
        let valid = name.len() <= 249
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if !valid {
            self.error(
                &file.name.referenced,
                format!("`{name}` is not a valid Fabric channel name"),
                "lowercase letters, digits, `.` and `-`, starting with a letter, at most 249 characters",
                "e.g. `channel1`",
            );
            return None;
        }
        let chaincode = self.chaincode(file.chaincode, org_msp_ids)?;
        Some(Channel {
            name: name.clone(),
            chaincode,
        })
    }

    /// The smart contract: Fabric's name and version rules (F core/chaincode/lifecycle
    /// ChaincodeNameRegExp, ChaincodeVersionRegExp), and its endorsement policy.
    fn chaincode(&mut self, file: ChaincodeFile, org_msp_ids: &[String]) -> Option<Chaincode> {
        let mut ok = true;
        let name = &file.name.value;
        let name_ok = name.len() <= 128
            && name
                .split(['-', '_'])
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
        if !name_ok {
            self.error(
                &file.name.referenced,
                format!("`{name}` is not a valid chaincode name"),
                "letters and digits, in parts joined by single `-` or `_` (e.g. `assets`, `asset-transfer`)",
                "Fabric's lifecycle refuses other names",
            );
            ok = false;
        }
        let version = &file.version.value;
        let version_ok = !version.is_empty()
            && version.len() <= 128
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
        if !version_ok {
            self.error(
                &file.version.referenced,
                format!("`{version}` is not a valid chaincode version"),
                "letters, digits, `_`, `.`, `+` and `-` (e.g. `1.0`)",
                "Fabric's lifecycle refuses other versions",
            );
            ok = false;
        }
        let endorsement_policy = match &file.endorsement_policy {
            None => EndorsementPolicy::default(),
            Some(text) => match EndorsementPolicy::parse(&text.value) {
                Err(why) => {
                    self.error(
                        &text.referenced,
                        format!("the endorsement policy is not one Fabric reads: {why}"),
                        "`MAJORITY`, `ANY`, `ALL` (the channel's Endorsement policy) or a signature policy such as `OR('Org1MSP.peer', 'Org2MSP.peer')`",
                        "principals are quoted, `'MSPID.role'`, with role member, admin, client, peer or orderer",
                    );
                    return None;
                }
                Ok(policy) => {
                    for org in policy.organizations(org_msp_ids) {
                        if !org_msp_ids.iter().any(|o| o == org) {
                            self.error(
                                &text.referenced,
                                format!("the endorsement policy names `{org}`, which is no organization of the channel"),
                                format!("MSP IDs of `organizations`: {}", one_of(org_msp_ids.iter().map(String::as_str))),
                                did_you_mean(org, org_msp_ids.iter().map(String::as_str), "a policy only an absent organization can meet is never met"),
                            );
                            ok = false;
                        }
                    }
                    if policy.layouts(org_msp_ids).is_empty() {
                        self.error(
                            &text.referenced,
                            "no set of endorsing peers meets this endorsement policy",
                            "principals peers can meet: `'MSPID.peer'` or `'MSPID.member'`",
                            "peers endorse; `admin`, `client` and `orderer` principals cannot be met by endorsements",
                        );
                        ok = false;
                    }
                    policy
                }
            },
        };
        ok.then(|| Chaincode {
            name: name.clone(),
            version: version.clone(),
            endorsement_policy,
        })
    }
}

/// The longest MSP ID: node names (`peer0.<org>.<region>`) are host names, whose labels
/// hold at most 63 characters.
const MSP_ID_MAX_CHARS: usize = 40;

/// Lowercase letters, digits and `-`, starting with a letter, at most 63 characters.
fn is_dns_label(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
