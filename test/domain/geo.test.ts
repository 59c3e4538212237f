// Tests for station distances and the `near` query parameter.

import t from 'tap'
import { distanceMeters, EARTH_RADIUS_METERS, parseLatLng } from '../../src/domain/geo.js'

const CANTON_TOWER = { latitude: 23.1064, longitude: 113.3245 }
const CANTON_FAIR = { latitude: 23.1040, longitude: 113.3650 }

t.test('distanceMeters', async (t) => {
  const d = distanceMeters(CANTON_TOWER, CANTON_FAIR)
  t.ok(d >= 4100 && d <= 4200, `Canton Tower to Canton Fair is about 4.1-4.2 km (got ${d})`)
  t.ok(Number.isInteger(d), 'whole metres')
  t.equal(distanceMeters(CANTON_FAIR, CANTON_TOWER), d, 'symmetric')
  t.equal(distanceMeters(CANTON_TOWER, CANTON_TOWER), 0)
  t.equal(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 1 }),
    Math.round(EARTH_RADIUS_METERS * Math.PI / 180), 'one degree on the equator')
  t.equal(distanceMeters({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 180 }),
    Math.round(EARTH_RADIUS_METERS * Math.PI), 'antipodes: half the circumference, not NaN')
  t.equal(distanceMeters({ latitude: 90, longitude: 0 }, { latitude: -90, longitude: 0 }),
    Math.round(EARTH_RADIUS_METERS * Math.PI), 'pole to pole')
  t.equal(distanceMeters({ latitude: 0, longitude: 179.5 }, { latitude: 0, longitude: -179.5 }),
    Math.round(EARTH_RADIUS_METERS * Math.PI / 180), 'across the antimeridian')
})

t.test('parseLatLng accepts plain decimals in range', async (t) => {
  t.same(parseLatLng('23.1064,113.3245'), CANTON_TOWER)
  t.same(parseLatLng(' 23.1064 , 113.3245 '), CANTON_TOWER)
  t.same(parseLatLng('-90,-180'), { latitude: -90, longitude: -180 })
  t.same(parseLatLng('+90,180'), { latitude: 90, longitude: 180 })
  t.same(parseLatLng('0,0'), { latitude: 0, longitude: 0 })
  t.same(parseLatLng('.5,23.'), { latitude: 0.5, longitude: 23 })
})

t.test('parseLatLng rejects everything else', async (t) => {
  const bad = [
    '', ',', '23.1', '23.1,', ',113.3', '23.1,113.3,0', '23.1;113.3', '23.1 113.3',
    'NaN,113', '23,NaN', 'Infinity,0', '0x10,0', '1e1,0', '23.1.1,113', 'a,b', '.,0', '--1,0',
    '90.0001,0', '-90.5,0', '0,180.01', '0,-181', '１２,３４'
  ]
  for (const text of bad) t.equal(parseLatLng(text), null, JSON.stringify(text))
})
